// Opening each requested backend for a benchmark, where one is missing (no GPU adapter) or
// fails, as a line to print instead of an exception.
import { createRuntime, type Runtime } from 'webrlhf';

export type BackendKind = 'webgpu' | 'wasm';

export const errorLine = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e));

/** The backend kinds listed in $WEBRLHF_BENCH_BACKENDS, or `fallback`. */
export function backendsFromEnv(fallback = 'webgpu,wasm'): BackendKind[] {
  return (process.env.WEBRLHF_BENCH_BACKENDS ?? fallback).split(',').map((s) => s.trim()).filter(Boolean) as BackendKind[];
}

/**
 * Runs `body` on a fresh runtime of each kind in turn, disposing it after; a kind that cannot
 * start, or whose body throws, gets `failed(kind, line)` instead.
 */
export async function forEachRuntime(kinds: BackendKind[], body: (rt: Runtime, kind: BackendKind) => Promise<void>, failed: (kind: BackendKind, error: string) => void): Promise<void> {
  for (const kind of kinds) {
    let rt: Runtime | undefined;
    try {
      rt = await createRuntime({ backend: kind });
      await body(rt, kind);
    } catch (e) {
      failed(kind, errorLine(e));
    } finally {
      rt?.dispose();
    }
  }
}
