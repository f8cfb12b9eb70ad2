import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError, max, sum } from 'webrlhf';
import { assertClose, randomF32 } from './harness/reference.js';
import { legBackendInstance as backend } from './harness/runtime.js';

const test = suite('reduce');

function rowsRef(x: Float32Array, rows: number, cols: number, op: 'sum' | 'max'): { value: number[]; scale: number[] } {
  const value: number[] = [];
  const scale: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * cols, (r + 1) * cols);
    value.push(op === 'sum' ? row.reduce((s, v) => s + v, 0) : row.reduce((m, v) => Math.max(m, v), -Infinity));
    scale.push(row.reduce((s, v) => s + Math.abs(v), 0));
  }
  return { value, scale };
}

for (const [rows, cols] of [[1, 1], [1, 1000], [7, 3], [33, 257], [1, 100_003], [70_000, 5]] as const) {
  for (const op of ['sum', 'max'] as const) {
    test(`${op} over the last axis of [${rows}, ${cols}]`, async () => {
      const be = await backend();
      const x = randomF32(rows * cols, rows * 31 + cols);
      const out = { sum, max }[op](be.tensor(x, [rows, cols]), { axis: -1 });
      assert.equal([...out.shape], [rows]);
      const ref = rowsRef(x, rows, cols, op);
      assertClose(await be.read(out), ref.value, { rtol: 1e-6, scale: op === 'sum' ? ref.scale : undefined, what: op });
    });
  }
}

for (const op of ['sum', 'max'] as const) {
  test(`${op} of everything`, async () => {
    const be = await backend();
    const x = randomF32(4 * 5 * 6, 99);
    const out = { sum, max }[op](be.tensor(x, [4, 5, 6]));
    assert.equal([...out.shape], [1]);
    const ref = rowsRef(x, 1, x.length, op);
    assertClose(await be.read(out), ref.value, { rtol: 1e-6, scale: op === 'sum' ? ref.scale : undefined });
  });
}

test('max keeps -Infinity and negative rows', async () => {
  const be = await backend();
  const out = max(be.tensor([-Infinity, -Infinity, -5, -7, -1e30, -2], [3, 2]), { axis: -1 });
  assert.equal([...(await be.read(out))], [-Infinity, -5, -2]);
});

test('reducing an empty tensor is a ShapeError', async () => {
  const be = await backend();
  assert.throws(() => sum(be.zeros([0])), (e: unknown) => e instanceof ShapeError);
  assert.throws(() => max(be.zeros([3, 0]), { axis: -1 }), (e: unknown) => e instanceof ShapeError);
});

test.run();
