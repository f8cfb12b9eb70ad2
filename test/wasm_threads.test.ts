import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, causalSoftmax, causalSoftmaxBackward, createRuntime, matmul, softmaxCrossEntropy } from 'webrlhf';
import { randomF32 } from './harness/reference.js';

const test = suite('wasm threads');

/** Threads share a WebAssembly memory where SharedArrayBuffer is allowed (everywhere the tests run). */
test('the WASM backend uses the threads it was given', async () => {
  const rt = await createRuntime({ backend: 'wasm', threads: 3 });
  try {
    assert.is(rt.backend.info().details.threads, 3);
    assert.match(rt.backend.info().device, /3 threads/);
  } finally {
    rt.dispose();
  }
});

test('results do not depend on the thread count (bitwise)', async () => {
  const one = await createRuntime({ backend: 'wasm', threads: 1 });
  const three = await createRuntime({ backend: 'wasm', threads: 3 });
  try {
    const cases = [
      { a: [97, 131], b: [131, 77], o: {} },
      { a: [200, 64], b: [90, 64], o: { transB: true } },
      { a: [64, 150], b: [64, 33], o: { transA: true, accumulate: true } },
      { a: [5, 40, 72], b: [72, 48], o: { alpha: 0.5 } }, // batch 5 ≥ threads: split by batch entry
    ];
    for (const c of cases) {
      const results = [];
      for (const rt of [one, three]) {
        const be = rt.backend;
        const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
        const a = be.tensor(randomF32(size(c.a), 1), c.a);
        const b = be.tensor(randomF32(size(c.b), 2), c.b);
        const outShape = matmul(a, b, { transA: (c.o as { transA?: boolean }).transA, transB: (c.o as { transB?: boolean }).transB }).shape;
        const out = be.tensor(randomF32(size([...outShape]), 3), [...outShape]);
        matmul(a, b, { ...c.o, out });
        results.push(await be.read(out));
      }
      assert.equal(Array.from(results[1]!), Array.from(results[0]!), JSON.stringify(c));
    }
  } finally {
    one.dispose();
    three.dispose();
  }
});

test('row-split layer kernels do not depend on the thread count (bitwise)', async () => {
  const one = await createRuntime({ backend: 'wasm', threads: 1 });
  const three = await createRuntime({ backend: 'wasm', threads: 3 });
  try {
    const results: Float32Array[][] = [];
    for (const rt of [one, three]) {
      const be = rt.backend;
      // Big enough to be split: [2, 4, 130, 130] scores and [40, 2003] logits.
      const [B, H, T, N, V] = [2, 4, 130, 40, 2003];
      const probs = be.zeros([B, H, T, T]);
      const dscores = be.zeros([B, H, T, T]);
      causalSoftmax(be.tensor(randomF32(B * H * T * T, 1), [B, H, T, T]), be.tensor(Array.from({ length: B * T }, (_, i) => (i % 7 ? 1 : 0)), [B, T]), probs);
      causalSoftmaxBackward(be.tensor(randomF32(B * H * T * T, 2), [B, H, T, T]), probs, dscores);
      const losses = be.zeros([N]);
      const dlogits = be.zeros([N, V]);
      const targets = be.tensor(Array.from({ length: N }, (_, i) => (i * 37) % V));
      const weights = be.tensor(Array.from({ length: N }, (_, i) => (i % 5 ? 1 : 0)));
      softmaxCrossEntropy(be.tensor(randomF32(N * V, 3), [N, V]), targets, weights, losses, dlogits);
      results.push(await Promise.all([probs, dscores, losses, dlogits].map((t) => be.read(t))));
    }
    for (let k = 0; k < 4; k++) assert.equal(Array.from(results[1]![k]!), Array.from(results[0]![k]!), `output ${k}`);
  } finally {
    one.dispose();
    three.dispose();
  }
});

test('a bad thread count is a ConfigError', async () => {
  for (const threads of [0, 1.5, -2]) {
    try {
      await createRuntime({ backend: 'wasm', threads });
      assert.unreachable();
    } catch (e) {
      assert.ok(e instanceof ConfigError, String(e));
    }
  }
});

test.run();
