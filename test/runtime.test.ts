import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, DeviceLimitError, DeviceLostError, GPUOpError, NoGPUError, add, createRuntime, matmul, opFamily, sum } from 'webrlhf';
import { WebGPUBackend } from '../src/backend/webgpu/webgpu_backend.js';
import { platform, setPlatform } from '../src/runtime/platform.js';
import { legBackend, legBackendInstance as backend, legRuntime } from './harness/runtime.js';

const test = suite('runtime');

test('the leg runs on the backend it asked for', async () => {
  const rt = await legRuntime();
  assert.is(rt.backend.kind, legBackend());
  assert.is(rt.choice.requested, legBackend());
  assert.ok(['node', 'deno', 'browser', 'worker'].includes(rt.runtime));
  const info = rt.backend.info();
  assert.is(info.kind, legBackend());
  assert.type(info.device, 'string');
  if (legBackend() === 'webgpu') {
    assert.ok(rt.adapter, 'adapter summary');
    assert.ok(rt.adapter!.limits.maxComputeInvocationsPerWorkgroup! >= 256, 'requested the adapter limits');
  }
});

/** Runs `fn` with a platform whose GPU sources find nothing. */
async function withoutGPU(fn: () => Promise<void>): Promise<void> {
  const real = platform();
  setPlatform({ ...real, gpuSources: () => [{ label: 'test source', featureLevels: ['core'], open: async () => undefined }] });
  try {
    await fn();
  } finally {
    setPlatform(real);
  }
}

test("backend 'webgpu' with no adapter is a NoGPUError that lists what was tried and the fix", () =>
  withoutGPU(async () => {
    try {
      await createRuntime({ backend: 'webgpu' });
      assert.unreachable('createRuntime should have thrown');
    } catch (e) {
      assert.instance(e, NoGPUError);
      const err = e as NoGPUError;
      assert.equal(err.attempts, ['test source: not available in this runtime']);
      assert.match(err.message, /Fix:/);
      assert.match(err.message, /wasm/);
    }
  }));

test("'auto' with no adapter falls back to WASM and says why", () =>
  withoutGPU(async () => {
    const rt = await createRuntime({ backend: 'auto' });
    try {
      assert.is(rt.choice.chosen, 'wasm');
      assert.match(rt.choice.reason, /no WebGPU adapter/);
      const t = rt.backend.tensor([1, 2, 3]);
      assert.equal([...(await rt.backend.read(sum(t)))], [6]);
    } finally {
      rt.dispose();
    }
  }));

test('an unknown backend name is a ConfigError', async () => {
  try {
    await createRuntime({ backend: 'cuda' as 'wasm' });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, ConfigError);
    assert.match((e as Error).message, /'auto', 'webgpu', 'wasm'/);
  }
});

test('a tensor larger than the device allows is a DeviceLimitError before any dispatch', async () => {
  const be = await backend();
  if (be instanceof WebGPUBackend) {
    // WebGPU stores a tensor past one buffer in several (webgpu_big_tensors has the rest);
    // one whose rows are wider than a buffer cannot be stored.
    const limits = be.storageLimits;
    be.setStorageLimits({ buffer: 1024 });
    try {
      assert.throws(() => be.zeros([2, 300]), (e: unknown) => e instanceof DeviceLimitError && /2400 bytes/.test((e as Error).message));
    } finally {
      be.setStorageLimits(limits);
    }
  } else {
    assert.throws(() => be.zeros([2 ** 30 + 4]), (e: unknown) => e instanceof DeviceLimitError && /bytes/.test((e as Error).message));
  }
  // The backend is still usable afterwards.
  assert.equal([...(await be.read(be.tensor([2, 3])))], [2, 3]);
});

test('reading is asynchronous and returns a copy', async () => {
  const be = await backend();
  const t = be.tensor([1, 2, 3, 4], [2, 2]);
  const p = be.read(t);
  assert.instance(p, Promise);
  const first = await p;
  first[0] = 100;
  assert.equal([...(await be.read(t))], [1, 2, 3, 4]);
});

if (legBackend() === 'webgpu') {
  test('pipelines are built once and reused', async () => {
    const be = await backend();
    const a = be.tensor(new Float32Array(64), [8, 8]);
    // Layouts (transposes, alignment, bias, accumulate) are pipeline variants: build both first.
    matmul(a, a);
    matmul(a, a, { transA: true });
    await be.flush();
    const before = be.info().details.pipelines;
    for (let i = 0; i < 5; i++) matmul(a, a, { transA: true });
    matmul(a, a);
    await be.flush();
    assert.is(be.info().details.pipelines, before);
  });

  test('a WebGPU validation error is rethrown naming the op', async () => {
    const be = await backend();
    const t = be.tensor([1, 2, 3, 4]);
    // Reach past the ops' own checks through a family that hands out the kernel context
    // itself: a grid larger than any adapter allows.
    const gpu = be.kernels(opFamily('test: the raw context', { webgpu: (context) => context }));
    gpu.dispatch('oversized-op', 'add', { a: t, b: t, out: t }, { n: 4, row: 4 }, [1 << 20, 1]);
    try {
      await be.flush();
      assert.unreachable('flush should have thrown');
    } catch (e) {
      assert.instance(e, GPUOpError);
      assert.is((e as GPUOpError).op, 'oversized-op');
      assert.match((e as Error).message, /^oversized-op: WebGPU validation error/);
    }
    // The error is reported once; later work is fine.
    assert.equal([...(await be.read(add(t, t)))], [2, 4, 6, 8]);
  });

  test('device loss surfaces as DeviceLostError', async () => {
    const rt = await createRuntime({ backend: 'webgpu' });
    const be = rt.backend as unknown as { device: GPUDevice } & typeof rt.backend;
    const t = be.tensor([1, 2]);
    be.device.destroy();
    await be.device.lost;
    await new Promise((r) => setTimeout(r, 0));
    assert.throws(() => add(t, t), (e: unknown) => e instanceof DeviceLostError);
    rt.dispose();
  });
}

test.run();
