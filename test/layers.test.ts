// Layer ops: forward against float64 references, backward against central finite
// differences of those references, on the leg's backend.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, ShapeError, adamw, add, causalSoftmax, causalSoftmaxBackward, columnSum, embedding, gatherHeads, gatherRows, gelu, geluBackward, layerNorm, layerNormBackward, rmsNorm, rmsNormBackward, rotaryEmbedding, scale, scatterAddRows, scatterHeads, silu, siluBackward, softmaxCrossEntropy, swiglu, swigluBackward, sumSquares, type Backend, type Tensor } from 'webrlhf';
import { checkRotaryPositions, rotaryFrequencies, rotaryTables } from '../src/nn/rotary.js';
import { rowIndex, disposeRowIndex } from '../src/nn/row_index.js';
import { assertClose, randomF32, rng } from './harness/reference.js';
import {
  adamwRef, causalSoftmaxRef, crossEntropyRef, dot, embeddingRef, geluRef, layerNormBackwardRef, layerNormRef, numericGrad, rmsNormBackwardRef, rmsNormRef,
  rotaryRef, siluRef, swigluRef,
} from './harness/layer_reference.js';
import { legBackendInstance as backend } from './harness/runtime.js';

const test = suite('layers');

/** Tolerance for an f32 result against a float64 value of typical magnitude ~1. */
const F32 = { rtol: 2e-5, atol: 2e-6 };
/** Gradients: f32 backward vs float64 finite differences. */
const GRAD = { rtol: 1e-4, atol: 1e-5 };

function ints(n: number, below: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => Math.floor(r() * below));
}

async function read(be: Backend, t: Tensor): Promise<Float32Array> {
  return be.read(t);
}

test('embedding: forward, and scatterAddRows is its backward (repeated ids and positions)', async () => {
  const be = await backend();
  const [V, P, C, N] = [7, 5, 12, 9];
  const ids = Float32Array.from([3, 1, 3, 0, 6, 3, 1, 2, 5]);
  const pos = Float32Array.from([0, 1, 2, 3, 4, 0, 1, 2, 3]);
  const wte = randomF32(V * C, 1);
  const wpe = randomF32(P * C, 2);
  const out = be.zeros([N, C]);
  embedding(be.tensor(ids), be.tensor(pos), be.tensor(wte, [V, C]), be.tensor(wpe, [P, C]), out);
  assertClose(await read(be, out), embeddingRef(ids, pos, wte, wpe, C), { ...F32, what: 'embedding' });

  const dout = randomF32(N * C, 3);
  const start = randomF32(V * C, 4); // scatterAddRows adds into what is there
  const dwte = be.tensor(start, [V, C]);
  const dwpe = be.zeros([P, C]);
  const idIndex = rowIndex(be, ids);
  const posIndex = rowIndex(be, pos);
  const tdout = be.tensor(dout, [N, C]);
  scatterAddRows(tdout, idIndex, dwte);
  scatterAddRows(tdout, posIndex, dwpe);
  const gWte = numericGrad((w) => dot(dout, embeddingRef(ids, pos, w, wpe, C)), wte);
  const gWpe = numericGrad((w) => dot(dout, embeddingRef(ids, pos, wte, w, C)), wpe);
  assertClose(await read(be, dwte), gWte.map((g, i) => g + start[i]!), { ...GRAD, what: 'dwte' });
  assertClose(await read(be, dwpe), gWpe, { ...GRAD, what: 'dwpe' });
  disposeRowIndex(idIndex);
  disposeRowIndex(posIndex);
});

test('scatterAddRows skips rows with a negative destination', async () => {
  const be = await backend();
  const src = be.tensor([1, 1, 2, 2, 3, 3, 4, 4], [4, 2]);
  const dst = be.zeros([3, 2]);
  const index = rowIndex(be, [2, -1, 0, 2]);
  scatterAddRows(src, index, dst);
  assert.equal([...(await read(be, dst))], [3, 3, 0, 0, 5, 5]);
  disposeRowIndex(index);
});

test('gatherRows', async () => {
  const be = await backend();
  const table = randomF32(6 * 5, 5);
  const index = [5, 0, 0, 3];
  const out = be.zeros([4, 5]);
  gatherRows(be.tensor(table, [6, 5]), be.tensor(index), out);
  const want = index.flatMap((r) => [...table.slice(r * 5, r * 5 + 5)]);
  assertClose(await read(be, out), want, { rtol: 0, atol: 0, what: 'gatherRows' });
});

for (const [N, C] of [[5, 16], [3, 7], [2, 768]] as const) {
  test(`layerNorm forward and backward, ${N}×${C}`, async () => {
    const be = await backend();
    const eps = 1e-5;
    // An offset and spread like real activations, so the mean subtraction matters.
    const x = randomF32(N * C, 10 + C).map((v, i) => 3 * v + (i % C === 0 ? 2 : 0.5));
    const w = randomF32(C, 11 + C).map((v) => 1 + 0.5 * v);
    const b = randomF32(C, 12 + C);
    const tx = be.tensor(x, [N, C]);
    const tw = be.tensor(w);
    const tb = be.tensor(b);
    const out = be.zeros([N, C]);
    const mean = be.zeros([N]);
    const rstd = be.zeros([N]);
    layerNorm(tx, tw, tb, out, mean, rstd, eps);
    const ref = layerNormRef(x, w, b, C, eps);
    assertClose(await read(be, out), ref.out, { ...F32, rtol: 1e-4, what: 'layerNorm out' });
    assertClose(await read(be, mean), ref.mean, { ...F32, what: 'mean' });
    assertClose(await read(be, rstd), ref.rstd, { ...F32, what: 'rstd' });

    const dout = randomF32(N * C, 13 + C);
    const dx0 = randomF32(N * C, 14 + C); // backward accumulates into all three
    const dw0 = randomF32(C, 15 + C);
    const db0 = randomF32(C, 16 + C);
    const dx = be.tensor(dx0, [N, C]);
    const dw = be.tensor(dw0);
    const db = be.tensor(db0);
    layerNormBackward(be.tensor(dout, [N, C]), tx, tw, mean, rstd, dx, dw, db);
    if (C <= 16) {
      const gx = numericGrad((v) => dot(dout, layerNormRef(v, w, b, C, eps).out), x);
      const gw = numericGrad((v) => dot(dout, layerNormRef(x, v, b, C, eps).out), w);
      const gb = numericGrad((v) => dot(dout, layerNormRef(x, w, v, C, eps).out), b);
      assertClose(await read(be, dx), gx.map((g, i) => g + dx0[i]!), { ...GRAD, what: 'dx' });
      assertClose(await read(be, dw), gw.map((g, i) => g + dw0[i]!), { ...GRAD, what: 'dweight' });
      assertClose(await read(be, db), gb.map((g, i) => g + db0[i]!), { ...GRAD, what: 'dbias' });
    } else {
      // Wide rows: the analytic float64 gradient (finite differences over 1536 inputs would be slow).
      const { dx: gx, dw: gw, db: gb } = layerNormBackwardRef(dout, x, w, ref.mean, ref.rstd, C);
      assertClose(await read(be, dx), gx.map((g, i) => g + dx0[i]!), { ...GRAD, what: 'dx (wide)' });
      assertClose(await read(be, dw), gw.map((g, i) => g + dw0[i]!), { ...GRAD, what: 'dweight (wide)' });
      assertClose(await read(be, db), gb.map((g, i) => g + db0[i]!), { ...GRAD, what: 'dbias (wide)' });
    }
  });
}

test('the analytic LayerNorm reference gradient matches finite differences', () => {
  const C = 6;
  const x = randomF32(2 * C, 20);
  const w = randomF32(C, 21);
  const dout = randomF32(2 * C, 22);
  const ref = layerNormRef(x, w, new Float64Array(C), C, 1e-5);
  const got = layerNormBackwardRef(dout, x, w, ref.mean, ref.rstd, C);
  assertClose(got.dx, numericGrad((v) => dot(dout, layerNormRef(v, w, new Float64Array(C), C, 1e-5).out), x), { rtol: 1e-6, atol: 1e-8 });
});

// [N, C]; 4096 is the widest Llama-family hidden size it is meant for.
for (const [N, C] of [[5, 16], [3, 7], [2, 768], [2, 4096]] as const) {
  test(`rmsNorm forward and backward, ${N}×${C}`, async () => {
    const be = await backend();
    const eps = 1e-6;
    const x = randomF32(N * C, 110 + C).map((v, i) => 3 * v + (i % C === 0 ? 2 : 0.5));
    const w = randomF32(C, 111 + C).map((v) => 1 + 0.5 * v);
    const tx = be.tensor(x, [N, C]);
    const tw = be.tensor(w);
    const out = be.zeros([N, C]);
    const rstd = be.zeros([N]);
    rmsNorm(tx, tw, out, rstd, eps);
    const ref = rmsNormRef(x, w, C, eps);
    assertClose(await read(be, out), ref.out, { ...F32, rtol: 1e-4, what: 'rmsNorm out' });
    assertClose(await read(be, rstd), ref.rstd, { ...F32, what: 'rstd' });

    const dout = randomF32(N * C, 112 + C);
    const dx0 = randomF32(N * C, 113 + C); // the backward adds into dx and dweight
    const dw0 = randomF32(C, 114 + C);
    const dx = be.tensor(dx0, [N, C]);
    const dw = be.tensor(dw0);
    rmsNormBackward(be.tensor(dout, [N, C]), tx, tw, rstd, dx, dw);
    const want = C <= 16
      ? { dx: numericGrad((v) => dot(dout, rmsNormRef(v, w, C, eps).out), x), dw: numericGrad((v) => dot(dout, rmsNormRef(x, v, C, eps).out), w) }
      : rmsNormBackwardRef(dout, x, w, ref.rstd, C); // finite differences over this many inputs would be slow
    assertClose(await read(be, dx), want.dx.map((g, i) => g + dx0[i]!), { ...GRAD, what: 'dx' });
    assertClose(await read(be, dw), want.dw.map((g, i) => g + dw0[i]!), { ...GRAD, what: 'dweight' });
  });
}

test('the analytic RMSNorm reference gradient matches finite differences', () => {
  const C = 6;
  const [x, w, dout] = [randomF32(2 * C, 120), randomF32(C, 121), randomF32(2 * C, 122)];
  const ref = rmsNormRef(x, w, C, 1e-6);
  const got = rmsNormBackwardRef(dout, x, w, ref.rstd, C);
  assertClose(got.dx, numericGrad((v) => dot(dout, rmsNormRef(v, w, C, 1e-6).out), x), { rtol: 1e-6, atol: 1e-8, what: 'dx' });
  assertClose(got.dw, numericGrad((v) => dot(dout, rmsNormRef(x, v, C, 1e-6).out), w), { rtol: 1e-6, atol: 1e-8, what: 'dweight' });
});

test('rmsNorm per head (Qwen3 q_norm): [N, H·D] viewed as [N·H, D] rows with weight [D]', async () => {
  const be = await backend();
  const [N, H, D] = [3, 4, 6];
  const x = randomF32(N * H * D, 123).map((v) => 2 * v);
  const w = randomF32(D, 124).map((v) => 1 + v / 4);
  const q = be.tensor(x, [N, H * D]);
  const out = be.zeros([N, H * D]);
  const rstd = be.zeros([N * H]);
  rmsNorm(be.view(q, 0, [N * H, D]), be.tensor(w), be.view(out, 0, [N * H, D]), rstd, 1e-6);
  const ref = rmsNormRef(x, w, D, 1e-6);
  assertClose(await read(be, out), ref.out, { ...F32, rtol: 1e-4, what: 'out' });
  const dout = randomF32(N * H * D, 125);
  const dx = be.zeros([N, H * D]);
  const dw = be.zeros([D]);
  rmsNormBackward(be.tensor(dout, [N * H, D]), be.view(q, 0, [N * H, D]), be.tensor(w), rstd, be.view(dx, 0, [N * H, D]), dw);
  assertClose(await read(be, dx), numericGrad((v) => dot(dout, rmsNormRef(v, w, D, 1e-6).out), x), { ...GRAD, what: 'dx' });
  assertClose(await read(be, dw), numericGrad((v) => dot(dout, rmsNormRef(x, v, D, 1e-6).out), w), { ...GRAD, what: 'dweight' });
});

test('rmsNorm: bad shapes, eps and aliasing are ShapeErrors', async () => {
  const be = await backend();
  const isShape = (re: RegExp) => (e: unknown) => e instanceof ShapeError && re.test(e.message);
  const x = be.zeros([4, 8]);
  const w = be.zeros([8]);
  assert.throws(() => rmsNorm(x, be.zeros([6]), be.zeros([4, 8]), be.zeros([4]), 1e-6), isShape(/rmsNorm: weight has shape \[6\], expected \[8\]/));
  assert.throws(() => rmsNorm(x, w, be.zeros([4, 8]), be.zeros([8]), 1e-6), isShape(/rstd has shape \[8\], expected \[4\]/));
  assert.throws(() => rmsNorm(be.zeros([32]), w, be.zeros([4, 8]), be.zeros([4]), 1e-6), isShape(/x has shape \[32\], expected \[N, C\]/));
  for (const eps of [0, -1e-6, NaN, Infinity]) {
    assert.throws(() => rmsNorm(x, w, be.zeros([4, 8]), be.zeros([4]), eps), isShape(/eps must be a positive finite number/));
  }
  assert.throws(() => rmsNorm(x, w, x, be.zeros([4]), 1e-6), isShape(/shares storage/));
  assert.throws(() => rmsNormBackward(be.zeros([4, 8]), x, w, be.zeros([4]), be.zeros([4, 8]), be.zeros([4])), isShape(/dweight has shape \[4\], expected \[8\]/));
  assert.throws(() => rmsNormBackward(be.zeros([4, 8]), x, w, be.zeros([4]), x, be.zeros([8])), isShape(/shares storage/));
});

test('gelu forward and backward, including large |x| (no NaN)', async () => {
  const be = await backend();
  const x = Float32Array.from([...randomF32(40, 30).map((v) => 4 * v), -50, -20, -9, 0, 9, 20, 50, 1e-3]);
  const n = x.length;
  const out = be.zeros([n]);
  const tx = be.tensor(x);
  gelu(tx, out);
  assertClose(await read(be, out), geluRef(x), { ...F32, what: 'gelu' });
  const dout = randomF32(n, 31);
  const dx = be.tensor(randomF32(n, 32)); // overwritten, not accumulated
  geluBackward(be.tensor(dout), tx, dx);
  const want = numericGrad((v) => dot(dout, geluRef(v)), x);
  assertClose(await read(be, dx), want, { ...GRAD, what: 'gelu backward' });
});

test('silu forward and backward, including large |x| and a partial last vec4 (no NaN)', async () => {
  const be = await backend();
  const x = Float32Array.from([...randomF32(41, 33).map((v) => 6 * v), -100, -30, -9, 0, 9, 30, 100, 1e-3]);
  const n = x.length;
  const out = be.zeros([n]);
  const tx = be.tensor(x);
  silu(tx, out);
  assertClose(await read(be, out), siluRef(x), { ...F32, what: 'silu' });
  const dout = randomF32(n, 34);
  const dx = be.tensor(randomF32(n, 35)); // overwritten, not accumulated
  siluBackward(be.tensor(dout), tx, dx);
  const want = numericGrad((v) => dot(dout, siluRef(v)), x);
  assertClose(await read(be, dx), want, { ...GRAD, what: 'silu backward' });
  const isShape = (re: RegExp) => (e: unknown) => e instanceof ShapeError && re.test(e.message);
  assert.throws(() => silu(tx, tx), isShape(/shares storage/));
  assert.throws(() => siluBackward(be.tensor(dout), tx, be.zeros([n + 1])), isShape(/operand shapes differ/));
});

test('swiglu forward and backward: [5, 11] (a partial last vec4), large |gate| (no NaN)', async () => {
  const be = await backend();
  const [N, F] = [5, 11];
  const gate = randomF32(N * F, 130).map((v) => 6 * v);
  gate.set([-100, -30, -9, 0, 9, 30, 100, 1e-3], 20);
  const up = randomF32(N * F, 131).map((v) => 2 * v);
  const [tg, tu] = [be.tensor(gate, [N, F]), be.tensor(up, [N, F])];
  const out = be.zeros([N, F]);
  swiglu(tg, tu, out);
  assertClose(await read(be, out), swigluRef(gate, up), { ...F32, what: 'swiglu' });
  const dout = randomF32(N * F, 132);
  // Overwritten, not accumulated; here two views of one buffer (a fused gate/up gradient).
  const grads = be.tensor(randomF32(128, 133), [128]);
  const [dgate, dup] = [be.view(grads, 0, [N, F]), be.view(grads, 64, [N, F])];
  swigluBackward(be.tensor(dout, [N, F]), tg, tu, dgate, dup);
  const all = await read(be, grads);
  assertClose(all.subarray(0, N * F), numericGrad((v) => dot(dout, swigluRef(v, up)), gate), { ...GRAD, what: 'dgate' });
  assertClose(all.subarray(64, 64 + N * F), numericGrad((v) => dot(dout, swigluRef(gate, v)), up), { ...GRAD, what: 'dup' });
  assert.ok(all.every(Number.isFinite), 'no NaN or inf');
  const isShape = (re: RegExp) => (e: unknown) => e instanceof ShapeError && re.test(e.message);
  assert.throws(() => swiglu(tg, be.zeros([N, F + 1]), out), isShape(/swiglu: operand shapes differ, \[5, 11\] vs \[5, 12\]/));
  assert.throws(() => swiglu(tg, tu, tu), isShape(/shares storage/));
  assert.throws(() => swigluBackward(be.tensor(dout, [N, F]), tg, tu, dgate, dgate), isShape(/dgate and dup are the same tensor/));
  assert.throws(() => swigluBackward(be.tensor(dout, [N, F]), tg, tu, tg, dup), isShape(/shares storage/));
});

// Heads of D = 10 (pairs of 5: the WASM twin's scalar tail) and of D = 16 (whole vec4s).
for (const D of [10, 16]) {
  test(`rotaryEmbedding, heads of ${D}: forward, inverse (the backward), in place`, async () => {
    const be = await backend();
    const [N, H, P] = [5, 3, 12];
    const [W, half] = [H * D, D / 2];
    const { cos, sin } = rotaryTables(rotaryFrequencies(D, 10000), P);
    const positions = [0, 3, 11, 3, 7];
    const x = randomF32(N * W, 140 + D).map((v) => 2 * v);
    const [tx, tpos, tcos, tsin] = [be.tensor(x, [N, W]), be.tensor(positions), be.tensor(cos, [P, half]), be.tensor(sin, [P, half])];
    const out = be.zeros([N, W]);
    rotaryEmbedding(tx, tpos, tcos, tsin, out);
    const want = rotaryRef(x, positions, cos, sin, W, half);
    assertClose(await read(be, out), want, { ...F32, what: 'rotary' });
    // The backward: dx = Rᵀ·dout, against finite differences of the forward.
    const dout = randomF32(N * W, 150 + D);
    const dx = be.zeros([N, W]);
    rotaryEmbedding(be.tensor(dout, [N, W]), tpos, tcos, tsin, dx, { inverse: true });
    assertClose(await read(be, dx), numericGrad((v) => dot(dout, rotaryRef(v, positions, cos, sin, W, half)), x), { ...GRAD, what: 'inverse = backward' });
    // In place, and back again: the inverse undoes the rotation.
    rotaryEmbedding(tx, tpos, tcos, tsin, tx);
    assertClose(await read(be, tx), want, { ...F32, what: 'in place' });
    rotaryEmbedding(tx, tpos, tcos, tsin, tx, { inverse: true });
    assertClose(await read(be, tx), x, { ...F32, what: 'inverse of forward' });
  });
}

test('rotaryEmbedding: bad shapes and aliasing are ShapeErrors; positions are checked on the host', async () => {
  const be = await backend();
  const isShape = (re: RegExp) => (e: unknown) => e instanceof ShapeError && re.test(e.message);
  const [N, W, P, half] = [2, 24, 6, 4];
  const x = be.zeros([N, W]);
  const pos = be.zeros([N]);
  const [c, s] = [be.zeros([P, half]), be.zeros([P, half])];
  assert.throws(() => rotaryEmbedding(x, pos, be.zeros([P, 5]), be.zeros([P, 5]), be.zeros([N, W])), isShape(/rows of 24 values do not split into heads of D = 2·5 = 10/));
  assert.throws(() => rotaryEmbedding(x, pos, c, be.zeros([P + 1, half]), be.zeros([N, W])), isShape(/sin has shape \[7, 4\], expected \[6, 4\]/));
  assert.throws(() => rotaryEmbedding(x, be.zeros([N + 1]), c, s, be.zeros([N, W])), isShape(/positions has shape \[3\], expected \[2\]/));
  assert.throws(() => rotaryEmbedding(x, pos, c, s, be.zeros([N, W + 8])), isShape(/out has shape \[2, 32\], expected \[2, 24\]/));
  assert.throws(() => rotaryEmbedding(x, pos, be.zeros([P * half]), s, be.zeros([N, W])), isShape(/cos has shape \[24\], expected \[P, D\/2\]/));
  // Another view of x's storage is not x itself.
  const big = be.zeros([128]);
  assert.throws(() => rotaryEmbedding(be.view(big, 0, [2, 24]), pos, c, s, be.view(big, 64, [2, 24])), isShape(/shares storage/));
  assert.throws(() => checkRotaryPositions([0, 5, 6], P), isShape(/position 6 at index 2 is not an integer in \[0, 6\)/));
  assert.throws(() => checkRotaryPositions([1.5], P), isShape(/position 1.5 at index 0/));
  assert.throws(() => checkRotaryPositions([-1], P), isShape(/position -1/));
  checkRotaryPositions([0, 5], P);
  // On the device a position past the tables is clamped into them: the last row, never out of bounds.
  const { cos, sin } = rotaryTables(rotaryFrequencies(8, 100), P);
  const xv = randomF32(N * W, 160);
  const out = be.zeros([N, W]);
  rotaryEmbedding(be.tensor(xv, [N, W]), be.tensor([P + 3, 1e9]), be.tensor(cos, [P, half]), be.tensor(sin, [P, half]), out);
  assertClose(await read(be, out), rotaryRef(xv, [P - 1, P - 1], cos, sin, W, half), { ...F32, what: 'clamped' });
});

test('rotaryFrequencies: default and llama3 scaling match transformers; other types are ConfigErrors', () => {
  // Made by transformers 5.18.0 (torch 2.13, float32): LlamaRotaryEmbedding(LlamaConfig(head_dim=64,
  // max_position_embeddings=131072, rope_parameters={'rope_type': 'llama3', 'rope_theta': 500000.0,
  // 'factor': 32.0, 'low_freq_factor': 1.0, 'high_freq_factor': 4.0,
  // 'original_max_position_embeddings': 8192})).inv_freq[i] (Llama 3.2's); i = 0..14 keep their
  // frequency, 15..17 are blended, 18.. are divided by the factor.
  const llama32 = { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
  const f32hf = rotaryFrequencies(64, 500000, llama32);
  const at = (f: Float64Array, idx: number[]) => idx.map((i) => f[i]!);
  assertClose(at(f32hf, [0, 1, 14, 15, 16, 17, 18, 31]), [
    1.0, 0.663601279258728, 0.0032114461064338684, 0.0012905480107292533, 0.000429556705057621, 9.708286233944818e-05,
    1.9461638657958247e-05, 9.418306490260875e-08,
  ], { rtol: 1e-6, atol: 0, what: 'llama3, factor 32, head_dim 64' });
  // The same with head_dim=128, factor=8 (Llama 3.1's), i = 29..35 and 63: 29..34 blended, 35 divided.
  const llama31 = { ...llama32, factor: 8 };
  assertClose(at(rotaryFrequencies(128, 500000, llama31), [29, 30, 31, 32, 33, 34, 35, 63]), [
    0.0021665706299245358, 0.0013718936825171113, 0.0008567514596506953, 0.0005248460220173001, 0.0003126936499029398,
    0.0001785077911335975, 9.556212171446532e-05, 3.068925877869333e-07,
  ], { rtol: 1e-6, atol: 0, what: 'llama3, factor 8, head_dim 128' });
  // rope_parameters={'rope_type': 'default', 'rope_theta': 1000000.0}, head_dim=64 (Qwen2.5's θ):
  // inv_freq[0, 7, 31], and the module's cos and sin at position 7 (emb(x, tensor([[7]]))).
  const plain = rotaryFrequencies(64, 1e6);
  assertClose(at(plain, [0, 7, 31]), [1.0, 0.04869675263762474, 1.5399265294036013e-06], { rtol: 1e-6, atol: 0, what: 'default' });
  for (const scaling of [null, { rope_type: 'default' }, { type: 'default', factor: 2 }]) assert.equal(rotaryFrequencies(64, 1e6, scaling), plain);
  const { cos, sin } = rotaryTables(plain, 8);
  assertClose([7 * 32, 7 * 32 + 7, 7 * 32 + 31].map((i) => cos[i]!), [0.7539022564888, 0.9424617290496826, 1.0], { rtol: 1e-6, atol: 1e-7, what: 'cos' });
  assertClose([7 * 32, 7 * 32 + 7, 7 * 32 + 31].map((i) => sin[i]!), [0.6569865942001343, 0.3343140184879303, 1.0779485819512047e-05], { rtol: 1e-6, atol: 1e-7, what: 'sin' });
  assert.equal([cos[5], sin[5]], [1, 0]); // position 0

  const isConfig = (re: RegExp) => (e: unknown) => e instanceof ConfigError && re.test(e.message);
  assert.throws(() => rotaryFrequencies(64, 1e4, { rope_type: 'yarn', factor: 4 }), isConfig(/rope_scaling type "yarn" is not supported; supported: default, llama3/));
  assert.throws(() => rotaryFrequencies(64, 1e4, { type: 'linear', factor: 4 }), isConfig(/"linear" is not supported/));
  const { original_max_position_embeddings: _, ...noContext } = llama32;
  assert.throws(() => rotaryFrequencies(64, 1e4, noContext), isConfig(/needs original_max_position_embeddings.*max_position_embeddings/));
  assert.throws(() => rotaryFrequencies(64, 1e4, { ...llama32, high_freq_factor: 1 }), isConfig(/high_freq_factor > low_freq_factor/));
  assert.throws(() => rotaryFrequencies(63, 1e4), isConfig(/head_dim must be a positive even integer/));
  assert.throws(() => rotaryFrequencies(64, 0), isConfig(/rope_theta must be a positive number/));
  assert.throws(() => rotaryTables(plain, 0), isConfig(/positions must be a positive integer/));
});

test('columnSum adds the sums of the columns (a bias gradient)', async () => {
  const be = await backend();
  const [N, C] = [37, 11];
  const x = randomF32(N * C, 40);
  const start = randomF32(C, 41);
  const out = be.tensor(start);
  columnSum(be.tensor(x, [N, C]), out);
  const want = Array.from({ length: C }, (_, c) => {
    let s = start[c]!;
    for (let n = 0; n < N; n++) s += x[n * C + c]!;
    return s;
  });
  assertClose(await read(be, out), want, { ...F32, what: 'columnSum' });
});

test('gatherHeads and scatterHeads: qkv columns to heads and back', async () => {
  const be = await backend();
  const [B, T, H, D] = [2, 3, 2, 4];
  const C = H * D;
  const qkv = randomF32(B * T * 3 * C, 50);
  const tqkv = be.tensor(qkv, [B, T, 3 * C]);
  const back = be.tensor(randomF32(B * T * 3 * C, 51), [B, T, 3 * C]);
  for (const part of [0, 1, 2]) {
    const heads = be.zeros([B, H, T, D]);
    gatherHeads(tqkv, part * C, heads);
    const got = await read(be, heads);
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) {
      assert.is(got[((b * H + h) * T + t) * D + d], qkv[(b * T + t) * 3 * C + part * C + h * D + d], `part ${part} b${b} h${h} t${t} d${d}`);
    }
    scatterHeads(heads, back, part * C);
  }
  assert.equal([...(await read(be, back))], [...qkv]);
  // Columns outside the block are left alone.
  const wide = be.tensor(new Float32Array(B * T * 10).fill(7), [B, T, 10]);
  scatterHeads(be.zeros([B, H, T, D]), wide, 1);
  const w = await read(be, wide);
  for (let r = 0; r < B * T; r++) assert.equal([...w.slice(r * 10, r * 10 + 10)], [7, 0, 0, 0, 0, 0, 0, 0, 0, 7]);
});

const MASKS: [string, number[]][] = [
  ['no padding', [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]],
  ['right padding', [1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0]],
  ['left padding (rows that see no key)', [0, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1]],
];
for (const [name, mask] of MASKS) {
  test(`causalSoftmax forward and backward, ${name}`, async () => {
    const be = await backend();
    const [B, H, T] = [2, 2, 6];
    const s = randomF32(B * H * T * T, 60).map((v) => 3 * v);
    const ts = be.tensor(s, [B, H, T, T]);
    const tmask = be.tensor(mask, [B, T]);
    const probs = be.zeros([B, H, T, T]);
    causalSoftmax(ts, tmask, probs);
    const p = await read(be, probs);
    assertClose(p, causalSoftmaxRef(s, mask, B, H, T), { ...F32, what: 'probs' });
    for (let i = 0; i < p.length; i++) assert.ok(Number.isFinite(p[i]), `probability ${i} is ${p[i]}`);
    const dp = randomF32(B * H * T * T, 61);
    const dscores = be.tensor(randomF32(B * H * T * T, 62), [B, H, T, T]);
    causalSoftmaxBackward(be.tensor(dp, [B, H, T, T]), probs, dscores);
    const want = numericGrad((v) => dot(dp, causalSoftmaxRef(v, mask, B, H, T)), s);
    assertClose(await read(be, dscores), want, { ...GRAD, what: 'dscores' });
  });
}

test('causalSoftmax on long rows (T = 300)', async () => {
  const be = await backend();
  const T = 300;
  const s = randomF32(T * T, 63).map((v) => 8 * v);
  const mask = Array.from({ length: T }, (_, j) => (j < 20 ? 0 : 1));
  const probs = be.zeros([1, 1, T, T]);
  causalSoftmax(be.tensor(s, [1, 1, T, T]), be.tensor(mask, [1, T]), probs);
  assertClose(await read(be, probs), causalSoftmaxRef(s, mask, 1, 1, T), { ...F32, what: 'probs' });
});

for (const V of [10, 1000]) {
  test(`softmaxCrossEntropy: losses and dlogits, V = ${V}, ignored rows`, async () => {
    const be = await backend();
    const N = 5;
    const logits = randomF32(N * V, 70 + V).map((v) => 5 * v);
    const targets = Float32Array.from([3, -1, 0, V - 1, 7]);
    const weights = Float32Array.from([0.25, 0, 0.5, 1, 0.125]);
    const tl = be.tensor(logits, [N, V]);
    const losses = be.zeros([N]);
    const dlogits = be.tensor(randomF32(N * V, 71), [N, V]);
    softmaxCrossEntropy(tl, be.tensor(targets), be.tensor(weights), losses, dlogits);
    const ref = crossEntropyRef(logits, targets, weights, V);
    assertClose(await read(be, losses), ref, { ...F32, what: 'losses' });
    const sum = (l: Float64Array) => l.reduce((a, b) => a + b, 0);
    const want = V <= 10
      ? numericGrad((v) => sum(crossEntropyRef(v, targets, weights, V)), logits)
      : crossEntropyGradRef(logits, targets, weights, V);
    assertClose(await read(be, dlogits), want, { ...GRAD, what: 'dlogits' });
    // Without dlogits only the losses are written.
    const losses2 = be.zeros([N]);
    softmaxCrossEntropy(tl, be.tensor(targets), be.tensor(weights), losses2);
    assertClose(await read(be, losses2), ref, { ...F32, what: 'losses without dlogits' });
  });
}

/** Analytic float64 dlogits = w·(softmax − onehot), used where finite differences would be slow. */
function crossEntropyGradRef(logits: ArrayLike<number>, targets: ArrayLike<number>, weights: ArrayLike<number>, V: number): Float64Array {
  const g = new Float64Array(logits.length);
  for (let n = 0; n < targets.length; n++) {
    if (weights[n] === 0) continue;
    let m = -Infinity;
    for (let v = 0; v < V; v++) m = Math.max(m, logits[n * V + v]!);
    let z = 0;
    for (let v = 0; v < V; v++) z += Math.exp(logits[n * V + v]! - m);
    for (let v = 0; v < V; v++) g[n * V + v] = weights[n]! * (Math.exp(logits[n * V + v]! - m) / z - (v === targets[n] ? 1 : 0));
  }
  return g;
}

test('softmaxCrossEntropy with very large logits stays finite', async () => {
  const be = await backend();
  const logits = Float32Array.from([1000, -1000, 0, 999]);
  const losses = be.zeros([1]);
  softmaxCrossEntropy(be.tensor(logits, [1, 4]), be.tensor([3]), be.tensor([1]), losses);
  assertClose(await read(be, losses), crossEntropyRef(logits, [3], [1], 4), { ...F32, what: 'loss' });
});

for (const clip of [0, 0.5]) {
  test(`adamw, three steps${clip ? `, gradients clipped to norm ${clip}` : ''}`, async () => {
    const be = await backend();
    const n = 300;
    const p = Float64Array.from(randomF32(n, 80));
    const m = new Float64Array(n);
    const v = new Float64Array(n);
    const tp = be.tensor(p);
    const tm = be.zeros([n]);
    const tv = be.zeros([n]);
    for (let step = 1; step <= 3; step++) {
      const g = randomF32(n, 80 + step);
      const hyper = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step, maxGradNorm: clip };
      const tg = be.tensor(g);
      const ss = sumSquares(tg);
      adamw(tp, tg, tm, tv, { ...hyper, gradSumSquares: ss });
      adamwRef(p, g, m, v, hyper);
    }
    assertClose(await read(be, tp), p, { rtol: 1e-5, atol: 1e-6, what: 'params' });
    assertClose(await read(be, tm), m, { rtol: 1e-5, atol: 1e-7, what: 'm' });
    assertClose(await read(be, tv), v, { rtol: 1e-5, atol: 1e-8, what: 'v' });
  });
}

test('sumSquares over all and per row', async () => {
  const be = await backend();
  const x = randomF32(3 * 1001, 90);
  const t = be.tensor(x, [3, 1001]);
  const all = await read(be, sumSquares(t));
  const rows = await read(be, sumSquares(t, { axis: -1 }));
  const sq = (a: Float32Array) => a.reduce((s, v) => s + v * v, 0);
  assertClose(all, [sq(x)], { rtol: 1e-5, what: 'all' });
  assertClose(rows, [0, 1, 2].map((r) => sq(x.slice(r * 1001, (r + 1) * 1001))), { rtol: 1e-5, what: 'rows' });
});

test('views share storage: write, read, zero, copy and ops through views', async () => {
  const be = await backend();
  const whole = be.tensor(Float32Array.from({ length: 256 }, (_, i) => i), [256]);
  const mid = be.view(whole, 64, [2, 32]);
  assert.equal([...(await read(be, mid)).slice(0, 3)], [64, 65, 66]);
  be.zero(be.view(whole, 128, [64]));
  const after = await read(be, whole);
  assert.is(after[127], 127);
  assert.is(after[128], 0);
  assert.is(after[191], 0);
  assert.is(after[192], 192);
  const other = be.zeros([64]);
  be.copy(be.view(whole, 192, [64]), other);
  assert.is((await read(be, other))[0], 192);
  // An op reading one view and writing another tensor, and writing into a view.
  scale(be.view(whole, 0, [64]), 2, other);
  assert.is((await read(be, other))[10], 20);
  add(other, other, be.view(whole, 64, [64]));
  assert.is((await read(be, whole))[64 + 10], 40);
  be.write(be.view(whole, 0, [4]), [9, 9, 9, 9]);
  assert.equal([...(await read(be, whole)).slice(0, 5)], [9, 9, 9, 9, 4]);
  // Views of views keep absolute offsets; disposing a view frees nothing.
  const inner = be.view(be.view(whole, 64, [192]), 128, [64]);
  assert.is((await read(be, inner))[0], 192);
  inner.dispose();
  assert.is((await read(be, whole))[255], 255);
  whole.dispose();
  assert.ok(mid.disposed, 'a view dies with its root');
});

test('two outputs that are views of one buffer (dweight and dbias of layerNormBackward)', async () => {
  const be = await backend();
  const C = 8;
  const grads = be.zeros([192]);
  const dw = be.view(grads, 0, [C]);
  const db = be.view(grads, 64, [C]);
  const x = randomF32(2 * C, 95);
  const tx = be.tensor(x, [2, C]);
  const w = be.tensor(new Float32Array(C).fill(1));
  const mean = be.zeros([2]);
  const rstd = be.zeros([2]);
  layerNorm(tx, w, be.zeros([C]), be.zeros([2, C]), mean, rstd, 1e-5);
  const dout = new Float32Array(2 * C).fill(1);
  layerNormBackward(be.tensor(dout, [2, C]), tx, w, mean, rstd, be.zeros([2, C]), dw, db);
  assert.equal([...(await read(be, db))], new Array(C).fill(2));
});

test('bad shapes and aliasing are ShapeErrors', async () => {
  const be = await backend();
  const x = be.zeros([4, 8]);
  const isShape = (re: RegExp) => (e: unknown) => e instanceof ShapeError && re.test(e.message);
  assert.throws(() => be.view(x, 3, [4]), isShape(/multiple of 64/));
  assert.throws(() => be.view(x, 0, [40]), isShape(/outside/));
  assert.throws(() => layerNorm(x, be.zeros([7]), be.zeros([8]), be.zeros([4, 8]), be.zeros([4]), be.zeros([4]), 1e-5), isShape(/weight/));
  assert.throws(() => gelu(x, x), isShape(/shares storage/));
  assert.throws(() => causalSoftmax(be.zeros([1, 1, 3, 4]), be.zeros([1, 3]), be.zeros([1, 1, 3, 4])), isShape(/\[B, H, T, T\]/));
  assert.throws(() => gatherHeads(be.zeros([1, 2, 8]), 4, be.zeros([1, 2, 2, 4])), isShape(/do not fit/));
  assert.throws(() => softmaxCrossEntropy(x, be.zeros([3]), be.zeros([4]), be.zeros([4])), isShape(/targets/));
  assert.throws(() => adamw(x, be.zeros([4, 8]), be.zeros([4, 8]), be.zeros([4, 8]), { lr: 1, beta1: 0.9, beta2: 0.9, eps: 1e-8, weightDecay: 0, step: 0 }), isShape(/step/));
  const big = be.zeros([128]);
  assert.throws(() => add(be.view(big, 0, [64]), be.view(big, 64, [64]), be.view(big, 0, [64])), isShape(/shares storage/));
});

test.run();
