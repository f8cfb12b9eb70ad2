import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError, matmul, type MatmulOptions } from 'webrlhf';
import { assertClose, matmulRef, randomF32, type MatmulRef } from './harness/reference.js';
import { legBackend, legBackendInstance as backend, withSetting } from './harness/runtime.js';
import { HARDWARE_MATMUL, SOFTWARE_MATMUL, WebGPUBackend, type MatmulTiling } from '../src/backend/webgpu/webgpu_backend.js';

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
  const out = matmul(ta, tb, options);
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

// Each operand is read with vec4 loads only when its stored rows start on vec4s (rows of A
// are K long, or M when transposed; rows of B are N long, or K when transposed; out's are N):
// these shapes flip that for one operand at a time.
const ALIGNMENT_SHAPES: [number, number, number][] = [
  [20, 12, 18], [18, 13, 24], [12, 20, 8], [9, 12, 21], [300, 37, 260], [260, 64, 300],
];
for (const [M, K, N] of ALIGNMENT_SHAPES) {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      const s = seed++;
      test(`alignment ${M}×${K}×${N}${transA ? ' Aᵀ' : ''}${transB ? ' Bᵀ' : ''}`, () => check({ M, N, K, transA, transB }, s * 10));
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

test('unaligned rows with bias and accumulate', () => check({ M: 23, K: 19, N: 29, transA: true, alpha: 0.5, bias: randomF32(29, 13), accumulate: randomF32(23 * 29, 14) }, 100));
test('aligned rows with bias and accumulate', () => check({ M: 24, K: 20, N: 28, transB: true, bias: randomF32(28, 15), accumulate: randomF32(24 * 28, 16) }, 101));
test('more than 65535 batch entries (the grid is folded)', () => check({ batch: 70001, M: 2, K: 3, N: 2 }, 102));
test('more than 65535 batch entries with a broadcast B, Bᵀ', () => check({ batch: 66000, M: 3, K: 2, N: 5, transB: true, broadcastB: true }, 103));

test('what lies past K is never multiplied in (Inf in the next batch entry)', async () => {
  // K = 5: the last 4-deep step reads 3 elements past each row of A and 3 rows past the end
  // of B[0], which here are the Inf-filled start of A[1] and B[1]. They must be zeroed, not
  // multiplied by zero (which gives NaN).
  const be = await backend();
  const [M, K, N] = [6, 5, 7];
  for (const [transA, transB] of [[false, false], [true, true]] as const) {
    const a = randomF32(2 * M * K, 104);
    const b = randomF32(2 * K * N, 105);
    a.fill(Infinity, M * K, M * K + 8);
    b.fill(Infinity, K * N, K * N + 2 * N);
    const ta = be.tensor(a, transA ? [2, K, M] : [2, M, K]);
    const tb = be.tensor(b, transB ? [2, N, K] : [2, K, N]);
    const out = matmul(ta, tb, { transA, transB });
    const got = (await be.read(out)).slice(0, M * N);
    const ref = matmulRef(a.slice(0, M * K), b.slice(0, K * N), { M, N, K, transA, transB });
    assertClose(got, ref.value, { scale: ref.scale, rtol: 1e-5, what: `batch 0 ${transA ? 'Aᵀ' : 'A'}${transB ? 'Bᵀ' : 'B'}` });
    for (const t of [ta, tb, out]) t.dispose();
  }
});

if (legBackend() === 'webgpu') {
  // The kernel's block shape is chosen per adapter; run the others on this one too.
  const TILINGS: [string, MatmulTiling][] = [
    ['hardware', HARDWARE_MATMUL],
    ['software', SOFTWARE_MATMUL],
    ['odd', { R: 8, C: 2, WX: 8, WY: 4 }],
  ];
  for (const [name, tiling] of TILINGS) {
    test(`${name} tiling ${JSON.stringify(tiling)}`, async () => {
      const be = await backend();
      assert.instance(be, WebGPUBackend);
      await withSetting(be as WebGPUBackend, 'matmulTiling', tiling, async () => {
        await check({ M: 70, K: 33, N: 90 }, 106);
        await check({ M: 64, K: 64, N: 64, transA: true, transB: true, bias: randomF32(64, 17) }, 107);
        await check({ batch: 3, M: 9, K: 10, N: 11, transB: true, accumulate: randomF32(3 * 9 * 11, 18) }, 108);
      });
    });
  }
}

test('shape mismatch is a ShapeError naming both shapes', async () => {
  const be = await backend();
  const a = be.zeros([3, 4]);
  const b = be.zeros([5, 6]);
  try {
    assert.throws(() => matmul(a, b), (e: unknown) => e instanceof ShapeError && /\[3, 4\]/.test(e.message) && /\[5, 6\]/.test(e.message));
    assert.throws(() => matmul(a, b, { transA: true }), (e: unknown) => e instanceof ShapeError && /K=3/.test(e.message));
    assert.throws(() => matmul(a, be.zeros([4, 2]), { bias: be.zeros([3]) }), (e: unknown) => e instanceof ShapeError && /bias/.test(e.message));
    assert.throws(() => matmul(be.zeros([2, 3, 4]), be.zeros([3, 4, 5])), (e: unknown) => e instanceof ShapeError && /batch/.test(e.message));
    assert.throws(() => matmul(a, be.zeros([4, 2]), { out: be.zeros([2, 3]) }), (e: unknown) => e instanceof ShapeError && /out/.test(e.message));
    assert.throws(() => matmul(be.zeros([4]), b), (e: unknown) => e instanceof ShapeError);
  } finally {
    a.dispose();
    b.dispose();
  }
});

test.run();
