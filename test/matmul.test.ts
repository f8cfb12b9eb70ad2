import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError, type MatmulOptions } from 'webrlhf';
import { assertClose, matmulRef, randomF32, type MatmulRef } from './harness/reference.js';
import { legBackendInstance as backend } from './harness/runtime.js';

const test = suite('matmul');

interface Case extends MatmulRef {
  bias?: Float32Array;
  /** Pass an `out` already holding these values, without accumulate: they must be overwritten. */
  staleOut?: Float32Array;
}

/** Runs one matmul on the leg's backend and checks it against the float64 reference. */
async function check(c: Case, seed: number): Promise<void> {
  const be = await backend();
  const batch = c.batch ?? 1;
  const lead = c.batch ? [c.batch] : [];
  const aShape = [...lead, ...(c.transA ? [c.K, c.M] : [c.M, c.K])];
  const bLead = c.broadcastB ? [] : lead;
  const bShape = [...bLead, ...(c.transB ? [c.N, c.K] : [c.K, c.N])];
  const a = randomF32(batch * c.M * c.K, seed);
  const b = randomF32((c.broadcastB ? 1 : batch) * c.K * c.N, seed + 1);
  const ta = be.tensor(a, aShape);
  const tb = be.tensor(b, bShape);
  const options: MatmulOptions = { transA: c.transA, transB: c.transB, alpha: c.alpha };
  const owned = [ta, tb];
  if (c.bias) owned.push((options.bias = be.tensor(c.bias)));
  if (c.accumulate) {
    options.out = be.tensor(c.accumulate, [...lead, c.M, c.N]);
    options.accumulate = true;
  } else if (c.staleOut) {
    options.out = be.tensor(c.staleOut, [...lead, c.M, c.N]);
  }
  const out = be.matmul(ta, tb, options);
  assert.equal([...out.shape], [...lead, c.M, c.N]);
  const got = await be.read(out);
  const ref = matmulRef(a, b, c);
  assertClose(got, ref.value, { scale: ref.scale, rtol: 2e-6 * Math.sqrt(c.K) + 1e-6, atol: 1e-6, what: `matmul ${JSON.stringify({ ...c, bias: !!c.bias, accumulate: !!c.accumulate, staleOut: !!c.staleOut })}` });
  for (const t of [...owned, out]) t.dispose();
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1], [17, 33, 65], [3, 5, 7], [64, 64, 64], [31, 1, 9], [256, 512, 128], [130, 70, 257],
];

let seed = 1;
for (const [M, K, N] of SHAPES) {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      const s = seed++;
      test(`${M}×${K}×${N}${transA ? ' Aᵀ' : ''}${transB ? ' Bᵀ' : ''}`, () => check({ M, N, K, transA, transB }, s * 10));
    }
  }
}

test('bias is added to every row', () => check({ M: 19, K: 23, N: 29, bias: randomF32(29, 5) }, 77));
test('bias with transposed operands', () => check({ M: 40, K: 12, N: 36, transA: true, transB: true, bias: randomF32(36, 6) }, 78));
test('alpha scales the product but not the bias', () => check({ M: 8, K: 16, N: 12, alpha: -0.5, bias: randomF32(12, 7) }, 79));
test('accumulate adds into out', () => check({ M: 33, K: 17, N: 21, accumulate: randomF32(33 * 21, 8) }, 80));
test('accumulate with bias, alpha and Bᵀ', () => check({ M: 9, K: 70, N: 5, transB: true, alpha: 2, bias: randomF32(5, 9), accumulate: randomF32(45, 10) }, 81));
test('batched', () => check({ batch: 3, M: 13, K: 24, N: 11 }, 82));
test('batched, transposed', () => check({ batch: 4, M: 16, K: 9, N: 20, transA: true, transB: true }, 83));
test('batched with a broadcast B', () => check({ batch: 5, M: 7, K: 32, N: 6, broadcastB: true, bias: randomF32(6, 11) }, 84));
test('K = 0 gives the bias', () => check({ M: 4, K: 0, N: 3, bias: randomF32(3, 12) }, 85));

// Shapes around the WASM kernel's blocking (wasm/matmul.ts: 2×16 register tiles, K in
// blocks of 256, A in blocks of 128 rows, B in blocks of 1024 columns, and 4-step
// transposes when packing): partial tiles on each side, K tails, several blocks per level.
const BLOCK_SHAPES: [number, number, number][] = [
  [1, 1, 17], [2, 3, 16], [3, 5, 15], [5, 4, 33], [4, 7, 31], [129, 257, 47], [7, 513, 1025], [130, 1000, 18],
];
for (const [M, K, N] of BLOCK_SHAPES) {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      const s = seed++;
      test(`blocking ${M}×${K}×${N}${transA ? ' Aᵀ' : ''}${transB ? ' Bᵀ' : ''}`, () => check({ M, N, K, transA, transB }, s * 10));
    }
  }
}

test('bias, alpha and accumulate across K blocks, transposed', () =>
  check({ M: 37, K: 300, N: 45, transA: true, transB: true, alpha: 0.75, bias: randomF32(45, 13), accumulate: randomF32(37 * 45, 14) }, 86));
test('bias and alpha on edge tiles, Aᵀ', () => check({ M: 131, K: 19, N: 1030, transA: true, alpha: -1.5, bias: randomF32(1030, 15) }, 87));
test('out is overwritten when not accumulating', () => check({ M: 19, K: 9, N: 33, staleOut: randomF32(19 * 33, 16) }, 88));
test('out is overwritten across K blocks and edge tiles', () => check({ M: 5, K: 600, N: 21, transB: true, staleOut: randomF32(5 * 21, 17) }, 89));
test('batched with a broadcast B, accumulate', () => check({ batch: 3, M: 50, K: 70, N: 40, broadcastB: true, accumulate: randomF32(3 * 50 * 40, 18) }, 90));
test('batched with a broadcast B, Aᵀ Bᵀ, bias and alpha', () =>
  check({ batch: 3, M: 5, K: 300, N: 17, broadcastB: true, transA: true, transB: true, alpha: 0.5, bias: randomF32(17, 19) }, 91));
test('K = 0 with accumulate leaves out as it was', () => check({ M: 3, K: 0, N: 5, accumulate: randomF32(15, 20) }, 92));
test('K = 0 without bias gives zeros', () => check({ M: 3, K: 0, N: 5, staleOut: randomF32(15, 21) }, 93));

test('shape mismatch is a ShapeError naming both shapes', async () => {
  const be = await backend();
  const a = be.zeros([3, 4]);
  const b = be.zeros([5, 6]);
  try {
    assert.throws(() => be.matmul(a, b), (e: unknown) => e instanceof ShapeError && /\[3, 4\]/.test(e.message) && /\[5, 6\]/.test(e.message));
    assert.throws(() => be.matmul(a, b, { transA: true }), (e: unknown) => e instanceof ShapeError && /K=3/.test(e.message));
    assert.throws(() => be.matmul(a, be.zeros([4, 2]), { bias: be.zeros([3]) }), (e: unknown) => e instanceof ShapeError && /bias/.test(e.message));
    assert.throws(() => be.matmul(be.zeros([2, 3, 4]), be.zeros([3, 4, 5])), (e: unknown) => e instanceof ShapeError && /batch/.test(e.message));
    assert.throws(() => be.matmul(a, be.zeros([4, 2]), { out: be.zeros([2, 3]) }), (e: unknown) => e instanceof ShapeError && /out/.test(e.message));
    assert.throws(() => be.matmul(be.zeros([4]), b), (e: unknown) => e instanceof ShapeError);
  } finally {
    a.dispose();
    b.dispose();
  }
});

test.run();
