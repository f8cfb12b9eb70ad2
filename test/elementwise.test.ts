import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError, TensorStateError, add, scale } from 'webrlhf';
import { assertClose, randomF32 } from './harness/reference.js';
import { legBackendInstance as backend } from './harness/runtime.js';

const test = suite('elementwise');

for (const n of [1, 3, 4, 1000, 65537]) {
  test(`add, ${n} values`, async () => {
    const be = await backend();
    const a = randomF32(n, n);
    const b = randomF32(n, n + 1);
    const got = await be.read(add(be.tensor(a), be.tensor(b)));
    assertClose(got, Array.from(a, (v, i) => Math.fround(v + b[i]!)), { rtol: 0, atol: 0 });
  });
  test(`scale, ${n} values`, async () => {
    const be = await backend();
    const a = randomF32(n, n + 2);
    const got = await be.read(scale(be.tensor(a), -3.25));
    assertClose(got, Array.from(a, (v) => Math.fround(v * -3.25)), { rtol: 0, atol: 0 });
  });
}

test('add and scale in place (out aliases an input)', async () => {
  const be = await backend();
  const a = be.tensor([1, 2, 3, 4, 5], [5]);
  const b = be.tensor([10, 20, 30, 40, 50], [5]);
  add(a, a, a); // a = 2a
  assert.equal([...(await be.read(a))], [2, 4, 6, 8, 10]);
  scale(a, 0.5, a); // a = a / 2
  assert.equal([...(await be.read(a))], [1, 2, 3, 4, 5]);
  add(a, b, a); // out aliases the first input
  assert.equal([...(await be.read(a))], [11, 22, 33, 44, 55]);
  add(a, b, b); // out aliases the second input
  assert.equal([...(await be.read(b))], [21, 42, 63, 84, 105]);
});

test('a chain of ops stays on the device until read', async () => {
  const be = await backend();
  let x = be.tensor([1, -2, 3, -4], [2, 2]);
  for (let i = 0; i < 100; i++) x = add(x, scale(x, 0.01));
  const expected = [1, -2, 3, -4].map((v) => v * 1.01 ** 100);
  assertClose(await be.read(x), expected, { rtol: 1e-4 });
});

test('write() is ordered after the work queued before it: an op recorded earlier reads the old values', async () => {
  // A model's batch tensors are rewritten by its next forward while the last one's work may
  // still be queued (gradient accumulation); on WebGPU queue.writeBuffer would overtake it.
  const be = await backend();
  const a = be.tensor([1, 2, 3]);
  const b = add(a, a);
  be.write(a, [10, 20, 30]);
  const c = add(a, a);
  assert.equal([...(await be.read(b))], [2, 4, 6]);
  assert.equal([...(await be.read(c))], [20, 40, 60]);
  for (const t of [a, b, c]) t.dispose();
});

test('more than 65535 workgroups (2-D grid)', async () => {
  const be = await backend();
  const n = 256 * 65535 + 300;
  const a = new Float32Array(n).map((_, i) => i % 7);
  const got = await be.read(scale(be.tensor(a), 2));
  assert.is(got.length, n);
  assert.is(got[n - 1], ((n - 1) % 7) * 2);
  assert.is(got[256 * 65535], ((256 * 65535) % 7) * 2);
});

test('bad input: shape mismatch, wrong data length, disposed tensor', async () => {
  const be = await backend();
  assert.throws(() => add(be.zeros([2, 3]), be.zeros([3, 2])), (e: unknown) => e instanceof ShapeError && /\[2, 3\] vs \[3, 2\]/.test(e.message));
  assert.throws(() => be.tensor([1, 2, 3], [2, 2]), (e: unknown) => e instanceof ShapeError);
  const t = be.zeros([4]);
  t.dispose();
  assert.throws(() => scale(t, 2), (e: unknown) => e instanceof TensorStateError);
  await assert.not.throws(() => be.write(be.zeros([2]), [1, 2]));
});

test.run();
