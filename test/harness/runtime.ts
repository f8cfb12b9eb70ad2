import { createRuntime, type Backend, type BackendKind, type Runtime } from 'webrlhf';

/**
 * The backend a test leg runs on: WEBRLHF_TEST_BACKEND in Node and Deno, ?backend= in a
 * browser page. Each leg runs every suite against exactly one backend.
 */
export function legBackend(): BackendKind {
  const g = globalThis as {
    process?: { env: Record<string, string | undefined> };
    Deno?: { env: { get(k: string): string | undefined } };
    location?: { search: string };
  };
  const value = g.Deno?.env.get('WEBRLHF_TEST_BACKEND')
    ?? g.process?.env?.WEBRLHF_TEST_BACKEND
    ?? (g.location ? new URLSearchParams(g.location.search).get('backend') ?? undefined : undefined);
  if (value !== 'webgpu' && value !== 'wasm') {
    throw new Error(`test leg: WEBRLHF_TEST_BACKEND (or ?backend=) must be 'webgpu' or 'wasm', got ${JSON.stringify(value)}`);
  }
  return value;
}

let shared: Promise<Runtime> | undefined;

/** One runtime per leg, created on first use and disposed by the entry when all suites ran. */
export function legRuntime(): Promise<Runtime> {
  shared ??= createRuntime({ backend: legBackend() });
  return shared;
}

export async function legBackendInstance(): Promise<Backend> {
  return (await legRuntime()).backend;
}

export async function disposeLegRuntime(): Promise<void> {
  if (shared) (await shared).dispose();
}

/** Runs `body` with `target[setting]` set to `value` (a backend's kernel shapes), then restores what it was. */
export async function withSetting<T extends object, K extends keyof T, R>(target: T, setting: K, value: T[K], body: () => Promise<R>): Promise<R> {
  const before = target[setting];
  target[setting] = value;
  try {
    return await body();
  } finally {
    target[setting] = before;
  }
}
