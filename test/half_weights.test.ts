// 16-bit weights (bf16, f16): host rounding, storage and read-back, the view rule, and the
// kernels that read them (matmul's B, embedding and gatherRows' tables) against float64
// references computed from the rounded values.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DTypeError, ShapeError, add, bf16Bits, embedding, f16Bits, gatherRows, layerNorm, matmul, roundTo,
  type Backend, type DType, type MatmulOptions, type Tensor,
} from 'webrlhf';
import { WebGPUBackend } from '../src/backend/webgpu/webgpu_backend.js';
import { assertClose, matmulRef, randomF32, type MatmulRef } from './harness/reference.js';
import { legBackendInstance as backend } from './harness/runtime.js';

const test = suite('half weights');
const HALVES: DType[] = ['bf16', 'f16'];

const hex = (n: number) => `0x${n.toString(16)}`;

test('bf16 rounding: nearest, ties to even, Inf and NaN kept', () => {
  const cases: [number, number][] = [
    [1, 0x3f80], [-2, 0xc000], [0, 0], [-0, 0x8000],
    [1 + 2 ** -8, 0x3f80], // tie between 0x3f80 and 0x3f81: to the even one
    [1 + 3 * 2 ** -8, 0x3f82], // tie between 0x3f81 and 0x3f82
    [1 + 2 ** -8 + 2 ** -20, 0x3f81], // just above the tie
    [Infinity, 0x7f80], [-Infinity, 0xff80],
    [3.4028234663852886e38, 0x7f80], // f32's largest rounds past bf16's largest
    [2 ** -133, 0x0001], // an f32 subnormal that is a bf16 subnormal
  ];
  for (const [x, bits] of cases) assert.is(hex(bf16Bits(x)), hex(bits), `bf16(${x})`);
  assert.ok(Number.isNaN(roundTo(new Float32Array([NaN]), 'bf16')[0]), 'NaN stays NaN');
  assert.ok(Number.isNaN(roundTo(new Float32Array([-NaN]), 'bf16')[0]));
});

test('f16 rounding: nearest, ties to even, subnormals, overflow to Inf, NaN kept', () => {
  const cases: [number, number][] = [
    [1, 0x3c00], [-2, 0xc000], [-0, 0x8000], [65504, 0x7bff],
    [65519, 0x7bff], [65520, 0x7c00], // the tie past the largest finite goes to Inf
    [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], // ties to even
    [2 ** -14, 0x0400], [2 ** -24, 0x0001], [3 * 2 ** -24, 0x0003], [-(2 ** -20), 0x8010],
    [2 ** -25, 0x0000], [3 * 2 ** -26, 0x0001], // half of the smallest subnormal: to 0; above it: to it
    [1.5 * 2 ** -24, 0x0002], // tie between subnormals 1 and 2: to 2
    [2 ** -14 - 2 ** -25, 0x0400], // the largest subnormal's carry into the smallest normal
    [1e-10, 0], [Infinity, 0x7c00], [-1e6, 0xfc00],
  ];
  for (const [x, bits] of cases) assert.is(hex(f16Bits(x)), hex(bits), `f16(${x})`);
  const back = roundTo(new Float32Array([2 ** -24, 3 * 2 ** -24, 65504, 1e6, NaN]), 'f16');
  assert.equal([...back.slice(0, 4)], [2 ** -24, 3 * 2 ** -24, 65504, Infinity]);
  assert.ok(Number.isNaN(back[4]));
});

test('tensor/read round on the host and decode; memory counts 2 bytes an element', async () => {
  const be = await backend();
  for (const dtype of HALVES) {
    const data = randomF32(333, 3).map((v) => v * 300);
    data[5] = 2 ** -20;
    const before = be.memory().bytes;
    const t = be.tensor(data, [9, 37], { dtype });
    assert.is(t.dtype, dtype);
    assert.is(be.memory().bytes - before, 333 * 2, 'counted bytes');
    const f = be.zeros([333]);
    assert.is(be.memory().bytes - before, 333 * 6);
    const got = await be.read(t);
    assert.equal([...got], [...roundTo(data, dtype)], `${dtype} read-back`);
    assert.ok(got.some((v, i) => v !== data[i]), 'the values were rounded');
    // write, copy and zero keep the dtype.
    be.write(t, data.map((v) => -v));
    const copy = be.zeros([9, 37], { dtype });
    be.copy(t, copy);
    assert.equal([...(await be.read(copy))], [...roundTo(data.map((v) => -v), dtype)]);
    be.zero(copy);
    assert.ok((await be.read(copy)).every((v) => v === 0));
    assert.throws(() => be.copy(t, f), (e: unknown) => e instanceof DTypeError && /bf16|f16/.test(e.message));
    for (const x of [t, f, copy]) x.dispose();
    assert.is(be.memory().bytes, before);
  }
});

test('views of a 16-bit tensor start on 128 elements (256 bytes); a misaligned one is a ShapeError', async () => {
  const be = await backend();
  const data = randomF32(640, 4);
  const t = be.tensor(data, [640], { dtype: 'bf16' });
  assert.throws(() => be.view(t, 64, [64]), (e: unknown) => e instanceof ShapeError && /multiple of 128 elements for a bf16 tensor/.test(e.message));
  const v = be.view(t, 256, [3, 5]);
  assert.is(v.dtype, 'bf16');
  assert.equal([...(await be.read(v))], [...roundTo(data.subarray(256, 271), 'bf16')]);
  // An odd-sized view inside its root ends mid-word: writing it would touch its neighbour.
  assert.throws(() => be.write(v, new Float32Array(15)), (e: unknown) => e instanceof DTypeError && /odd number/.test(e.message));
  t.dispose();
});

test('ops reject a 16-bit output or a 16-bit input they do not read (DTypeError)', async () => {
  const be = await backend();
  const x = be.tensor(randomF32(12, 5), [3, 4]);
  const w = be.tensor(randomF32(20, 6), [5, 4], { dtype: 'bf16' });
  const halfOut = be.zeros([3, 5], { dtype: 'bf16' });
  const frozen = (e: unknown) => e instanceof DTypeError && /frozen weights/.test(e.message);
  assert.throws(() => matmul(x, w, { transB: true, out: halfOut }), frozen, 'half out');
  assert.throws(() => matmul(w, x, { transB: true }), frozen, 'half A');
  assert.throws(() => add(halfOut, halfOut), frozen, 'add');
  const v = be.tensor(randomF32(4, 7), [4], { dtype: 'f16' });
  const o = be.zeros([3, 4]);
  const stats = [be.zeros([3]), be.zeros([3])];
  assert.throws(() => layerNorm(x, v, v, o, stats[0]!, stats[1]!, 1e-5), frozen, 'layerNorm weight');
  for (const t of [x, w, halfOut, v, o, ...stats]) t.dispose();
});

interface HalfCase extends MatmulRef {
  dtype: DType;
}

/** One matmul with B stored in `dtype`, against the float64 product of A and B's rounded values. */
async function checkMatmul(be: Backend, c: HalfCase, seed: number): Promise<void> {
  const batch = c.batch ?? 1;
  const lead = c.batch ? [c.batch] : [];
  const a = randomF32(batch * c.M * c.K, seed);
  const b = randomF32((c.broadcastB ? 1 : batch) * c.K * c.N, seed + 1);
  const ta = be.tensor(a, [...lead, ...(c.transA ? [c.K, c.M] : [c.M, c.K])]);
  const tb = be.tensor(b, [...(c.broadcastB ? [] : lead), ...(c.transB ? [c.N, c.K] : [c.K, c.N])], { dtype: c.dtype });
  const options: MatmulOptions = { transA: c.transA, transB: c.transB, alpha: c.alpha };
  const owned: Tensor[] = [ta, tb];
  if (c.bias) owned.push((options.bias = be.tensor(c.bias)));
  if (c.accumulate) owned.push((options.out = be.tensor(c.accumulate, [...lead, c.M, c.N])));
  options.accumulate = !!c.accumulate;
  const out = matmul(ta, tb, options);
  const ref = matmulRef(a, roundTo(b, c.dtype), c);
  const what = `matmul, B in ${JSON.stringify({ ...c, bias: !!c.bias, accumulate: !!c.accumulate })}`;
  assertClose(await be.read(out), ref.value, { scale: ref.scale, rtol: 2e-6 * Math.sqrt(c.K) + 1e-6, atol: 1e-6, what });
  for (const t of new Set([...owned, out])) t.dispose();
}

// Odd sizes (no multiple of the WebGPU tile or the WASM panels), K tails, unaligned rows.
const SHAPES: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [17, 33, 65], [31, 9, 1], [130, 70, 257], [5, 300, 18]];
let seed = 100;
for (const dtype of HALVES) {
  for (const [M, K, N] of SHAPES) {
    for (const transB of [true, false]) {
      const s = seed++;
      test(`matmul ${M}×${K}×${N}, B${transB ? 'ᵀ' : ''} in ${dtype}`, async () => checkMatmul(await backend(), { dtype, M, K, N, transB }, s * 10));
    }
  }
  test(`matmul, B in ${dtype}: bias, alpha, accumulate, Aᵀ`, async () => {
    const be = await backend();
    await checkMatmul(be, { dtype, M: 9, K: 70, N: 5, transB: true, alpha: 2, bias: randomF32(5, 9), accumulate: randomF32(45, 10) }, 81);
    await checkMatmul(be, { dtype, M: 19, K: 23, N: 29, transA: true, bias: randomF32(29, 11), accumulate: randomF32(19 * 29, 12) }, 82);
  });
  test(`matmul, B in ${dtype}: batched and broadcast`, async () => {
    const be = await backend();
    await checkMatmul(be, { dtype, batch: 3, M: 13, K: 24, N: 11 }, 83);
    await checkMatmul(be, { dtype, batch: 4, M: 16, K: 9, N: 20, transB: true }, 84);
    await checkMatmul(be, { dtype, batch: 5, M: 7, K: 33, N: 6, broadcastB: true, transB: true, bias: randomF32(6, 13) }, 85);
    await checkMatmul(be, { dtype, batch: 2, M: 3, K: 10, N: 66, broadcastB: true }, 86);
  });
}

test('special values decode exactly: f16 subnormals through matmul, ±Inf and NaN through gatherRows', async () => {
  const be = await backend();
  // x = I picks the rows of B [8, 1]: the product is B's decoded values (no Inf: 0·Inf is NaN).
  const values = new Float32Array([2 ** -24, -(2 ** -20), 65504, 1, 2 ** -14, 0.1, -3, 3 * 2 ** -24]);
  const special = new Float32Array([Infinity, -Infinity, NaN, 2 ** -24]);
  for (const dtype of HALVES) {
    const b = be.tensor(values, [8, 1], { dtype });
    const eye = be.tensor(Float32Array.from({ length: 64 }, (_, i) => Number(i % 9 === 0)), [8, 8]);
    const product = matmul(eye, b);
    assert.equal([...(await be.read(product))], [...roundTo(values, dtype)], `matmul, ${dtype}`);
    const table = be.tensor(special, [4, 1], { dtype });
    const ids = be.tensor([0, 1, 2, 3]);
    const out = be.zeros([4, 1]);
    gatherRows(table, ids, out);
    const got = await be.read(out);
    assert.equal([got[0], got[1], Number.isNaN(got[2]), got[3]], [Infinity, -Infinity, true, roundTo(special, dtype)[3]], `gatherRows, ${dtype}`);
    for (const t of [b, eye, product, table, ids, out]) t.dispose();
  }
});

/** On WebGPU only: `body` with one binding holding at most `binding` bytes, so ops split their 16-bit operands into windows. */
async function withBindingLimit(binding: number, body: (be: WebGPUBackend) => Promise<void>): Promise<void> {
  const be = await backend();
  if (!(be instanceof WebGPUBackend)) return;
  const before = be.storageLimits;
  be.setStorageLimits({ binding });
  try {
    await body(be);
  } finally {
    be.setStorageLimits(before);
  }
}

// B's 2·300·40 = 24000 bytes over 8 KiB bindings: windows of its rows (and of K), each
// starting on a 128-element boundary before its first row.
test('matmul: a 16-bit B split into windows on WebGPU (lowered binding limit)', () => withBindingLimit(8192, async (be) => {
  for (const dtype of HALVES) {
    await checkMatmul(be, { dtype, M: 6, K: 300, N: 40, transB: true }, 90);
    await checkMatmul(be, { dtype, M: 6, K: 130, N: 37 }, 91);
  }
}));

/** A [V, C] table and a [P, C] position table in `dtype`, and ids that repeat and clamp. */
async function checkTables(be: Backend, dtype: DType, V: number, C: number): Promise<void> {
  const P = 7;
  const N = 11;
  const wte = randomF32(V * C, 20);
  const wpe = randomF32(P * C, 21);
  const ids = Float32Array.from({ length: N }, (_, i) => (i * 5) % V);
  ids[3] = V + 4; // clamped to the last row
  const pos = Float32Array.from({ length: N }, (_, i) => i % P);
  const [tTable, tPos] = [be.tensor(wte, [V, C], { dtype }), be.tensor(wpe, [P, C], { dtype })];
  const [tIds, tP, out] = [be.tensor(ids), be.tensor(pos), be.zeros([N, C])];
  const [rt, rp] = [roundTo(wte, dtype), roundTo(wpe, dtype)];
  const row = (t: Float32Array, r: number) => t.subarray(Math.min(r, t.length / C - 1) * C, (Math.min(r, t.length / C - 1) + 1) * C);
  gatherRows(tTable, tIds, out);
  const gathered = new Float32Array(N * C);
  for (let n = 0; n < N; n++) gathered.set(row(rt, ids[n]!), n * C);
  assert.equal([...(await be.read(out))], [...gathered], `gatherRows, ${dtype} table ${V}×${C}`);
  embedding(tIds, tP, tTable, tPos, out);
  const summed = gathered.map((v, i) => Math.fround(v + rp[(pos[Math.floor(i / C)]!) * C + (i % C)]!));
  assert.equal([...(await be.read(out))], [...summed], `embedding, ${dtype} tables ${V}×${C}`);
  // A 16-bit wte with an f32 wpe (and the reverse) reads each as stored.
  const f32Pos = be.tensor(wpe, [P, C]);
  embedding(tIds, tP, tTable, f32Pos, out);
  const mixed = gathered.map((v, i) => Math.fround(v + wpe[(pos[Math.floor(i / C)]!) * C + (i % C)]!));
  assert.equal([...(await be.read(out))], [...mixed], `embedding, ${dtype} wte, f32 wpe`);
  for (const t of [tTable, tPos, tIds, tP, out, f32Pos]) t.dispose();
}

for (const dtype of HALVES) {
  test(`gatherRows and embedding read a ${dtype} table (odd widths)`, async () => {
    const be = await backend();
    await checkTables(be, dtype, 13, 37);
    await checkTables(be, dtype, 5, 64);
    await checkTables(be, dtype, 9, 3);
  });
}

test('gatherRows and embedding: a 16-bit table in windows on WebGPU (lowered binding limit)', () => withBindingLimit(2048, async (be) => {
  for (const dtype of HALVES) await checkTables(be, dtype, 80, 37);
}));

test.run();
