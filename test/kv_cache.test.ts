// The KV-cache ops: gatherHeads appending rows to a cache, and cachedAttention against a
// float64 reference (causal within the new block, key padding, empty rows, long caches,
// grouped-query attention).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError, cachedAttention, gatherHeads } from 'webrlhf';
import { assertClose, randomF32 } from './harness/reference.js';
import { legBackendInstance as backend } from './harness/runtime.js';

const test = suite('kv_cache');

const F32 = { rtol: 2e-5, atol: 2e-6 };

/** Hkv: the cache's key/value heads (default H). */
interface Case { B: number; T: number; H: number; Hkv?: number; D: number; S: number; W: number; start: number }

/**
 * out[b, i, h·D + d] in float64: softmax over visible keys of q·k/√D, times v, query head h
 * reading KV head ⌊h/(H/Hkv)⌋ (transformers' repeat_kv).
 */
function cachedAttentionRef(qkv: Float32Array, k: Float32Array, v: Float32Array, mask: Float32Array, c: Case): Float64Array {
  const { B, T, H, D, S, W, start } = c;
  const Hkv = c.Hkv ?? H;
  const out = new Float64Array(B * T * H * D);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < T; i++) {
      for (let h = 0; h < H; h++) {
        const kv = b * Hkv + Math.floor(h / (H / Hkv));
        const visible: number[] = [];
        for (let j = 0; j <= start + i; j++) if (mask[b * S + j]! >= 0.5) visible.push(j);
        const scores = visible.map((j) => {
          let s = 0;
          for (let d = 0; d < D; d++) s += qkv[(b * T + i) * W + h * D + d]! * k[(kv * S + j) * D + d]!;
          return s / Math.sqrt(D);
        });
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, x) => a + x, 0);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          visible.forEach((j, n) => { acc += (e[n]! / z) * v[(kv * S + j) * D + d]!; });
          out[(b * T + i) * H * D + h * D + d] = acc;
        }
      }
    }
  }
  return out;
}

const cases: [string, Case, (b: number, j: number) => number][] = [
  ['one new token after 9 cached, left padding', { B: 3, T: 1, H: 2, D: 8, S: 16, W: 48, start: 9 }, (b, j) => Number(j >= b * 2)],
  ['a prompt of 7 (causal inside the block)', { B: 2, T: 7, H: 3, D: 4, S: 12, W: 36, start: 0 }, (b, j) => Number(j >= 3 * b)],
  ['a block of 5 after 70 cached (more than one tile)', { B: 2, T: 5, H: 2, D: 16, S: 80, W: 96, start: 70 }, (b, j) => Number(j % 7 !== b)],
  ['heads of 96 and 130 keys', { B: 1, T: 2, H: 2, D: 96, S: 130, W: 3 * 192, start: 128 }, () => 1],
  ['a row that sees no key gets zeros', { B: 2, T: 3, H: 1, D: 8, S: 3, W: 24, start: 0 }, (b, j) => Number(b === 0 || j === 2)],
  // Grouped-query attention, and separate q buffers (W = H·D) as the Llama decoder passes them.
  ['GQA, 6 query heads on 2 KV heads, a q buffer', { B: 2, T: 3, H: 6, Hkv: 2, D: 8, S: 10, W: 48, start: 4 }, (b, j) => Number(j >= b)],
  ['GQA, one KV head (multi-query), 70 keys', { B: 1, T: 2, H: 4, Hkv: 1, D: 16, S: 72, W: 64, start: 68 }, (_, j) => Number(j % 5 !== 2)],
  ['6 heads on 6 KV heads (multi-head), a q buffer', { B: 2, T: 3, H: 6, Hkv: 6, D: 8, S: 10, W: 48, start: 4 }, (b, j) => Number(j >= b)],
];

for (const [name, c, visible] of cases) {
  test(`cachedAttention: ${name}`, async () => {
    const be = await backend();
    const { B, T, H, D, S, W, start } = c;
    const Hkv = c.Hkv ?? H;
    const qkv = randomF32(B * T * W, 1);
    // Scores up to ~±30 exercise the running-max rescale.
    for (let i = 0; i < qkv.length; i++) qkv[i] = qkv[i]! * 3;
    const k = randomF32(B * Hkv * S * D, 2);
    const v = randomF32(B * Hkv * S * D, 3);
    const mask = Float32Array.from({ length: B * S }, (_, n) => visible(Math.floor(n / S), n % S));
    const out = be.zeros([B, T, H * D]);
    cachedAttention(be.tensor(qkv, [B, T, W]), be.tensor(k, [B, Hkv, S, D]), be.tensor(v, [B, Hkv, S, D]), be.tensor(mask, [B, S]), start, out);
    const got = await be.read(out);
    const want = cachedAttentionRef(qkv, k, v, mask, c);
    assertClose(got, want, { ...F32, what: 'out' });
    if (name.includes('no key')) assert.ok(got.subarray(T * H * D, T * H * D + D).every((x) => x === 0), 'zeros, not NaN');
  });
}

test('cachedAttention: grouped-query attention is multi-head attention on repeat_kv\'s cache, exactly', async () => {
  const be = await backend();
  const [B, T, H, Hkv, D, S, start] = [2, 2, 6, 2, 8, 9, 5];
  const q = randomF32(B * T * H * D, 7);
  const [k, v] = [randomF32(B * Hkv * S * D, 8), randomF32(B * Hkv * S * D, 9)];
  // KV head g repeated for its H/Hkv query heads, as transformers' repeat_kv lays them out.
  const repeat = (c: Float32Array) => Float32Array.from({ length: B * H * S * D }, (_, i) => {
    const [b, h, rest] = [Math.floor(i / (H * S * D)), Math.floor(i / (S * D)) % H, i % (S * D)];
    return c[(b * Hkv + Math.floor(h / (H / Hkv))) * S * D + rest]!;
  });
  const mask = be.tensor(new Float32Array(B * S).fill(1), [B, S]);
  const [gqa, mha] = [be.zeros([B, T, H * D]), be.zeros([B, T, H * D])];
  const tq = be.tensor(q, [B, T, H * D]);
  cachedAttention(tq, be.tensor(k, [B, Hkv, S, D]), be.tensor(v, [B, Hkv, S, D]), mask, start, gqa);
  cachedAttention(tq, be.tensor(repeat(k), [B, H, S, D]), be.tensor(repeat(v), [B, H, S, D]), mask, start, mha);
  assert.equal(Array.from(await be.read(gqa)), Array.from(await be.read(mha)));
});

test('gatherHeads with a time offset appends to a cache and keeps the other rows', async () => {
  const be = await backend();
  const [B, T, H, D, S, W, col] = [2, 3, 2, 4, 8, 24, 8];
  const src = randomF32(B * T * W, 4);
  const before = randomF32(B * H * S * D, 5);
  const cache = be.tensor(before, [B, H, S, D]);
  gatherHeads(be.tensor(src, [B, T, W]), col, cache, 4);
  const got = await be.read(cache);
  const want = Float32Array.from(before);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) for (let d = 0; d < D; d++) {
    want[((b * H + h) * S + 4 + t) * D + d] = src[(b * T + t) * W + col + h * D + d]!;
  }
  assert.equal(Array.from(got), Array.from(want));
  assert.throws(() => gatherHeads(be.tensor(src, [B, T, W]), col, cache, 6), (e: unknown) => e instanceof ShapeError && /time rows 6\.\.9/.test(e.message));
});

test('cachedAttention: bad shapes and positions are ShapeErrors', async () => {
  const be = await backend();
  const kv = be.zeros([1, 2, 4, 8]);
  const v = be.zeros([1, 2, 4, 8]);
  const mask = be.zeros([1, 4]);
  const isShape = (re: RegExp) => (e: unknown) => e instanceof ShapeError && re.test(e.message);
  assert.throws(() => cachedAttention(be.zeros([1, 2, 48]), kv, v, mask, 3, be.zeros([1, 2, 16])), isShape(/do not fit a cache of 4/));
  assert.throws(() => cachedAttention(be.zeros([1, 1, 8]), kv, v, mask, 0, be.zeros([1, 1, 16])), isShape(/W ≥ 16/));
  assert.throws(() => cachedAttention(be.zeros([1, 2, 16]), kv, v, mask, 0, be.zeros([1, 1, 16])), isShape(/qkv has shape \[1, 2, 16\], expected \[1, 1, W ≥ 16\]/));
  // Grouped-query: out's width gives H, which the cache's Hkv must divide.
  const kv4 = be.zeros([1, 4, 4, 8]);
  assert.throws(() => cachedAttention(be.zeros([1, 1, 48]), kv4, be.zeros([1, 4, 4, 8]), mask, 0, be.zeros([1, 1, 48])), isShape(/the cache's 4 key\/value heads do not divide the 6 query heads/));
  assert.throws(() => cachedAttention(be.zeros([1, 1, 48]), kv, v, mask, 0, be.zeros([1, 1, 20])), isShape(/out has shape \[1, 1, 20\], expected \[1, T, H·8\]/));
  assert.throws(() => cachedAttention(be.zeros([1, 1, 48]), kv, be.zeros([1, 1, 4, 8]), mask, 0, be.zeros([1, 1, 16])), isShape(/vCache has shape \[1, 1, 4, 8\], expected \[1, 2, 4, 8\]/));
  assert.throws(() => cachedAttention(be.zeros([1, 1, 48]), kv, v, be.zeros([1, 5]), 0, be.zeros([1, 1, 16])), isShape(/keyMask/));
  const wide = be.zeros([1, 1, 2, 300]);
  assert.throws(() => cachedAttention(be.zeros([1, 1, 600]), wide, be.zeros([1, 1, 2, 300]), be.zeros([1, 2]), 0, be.zeros([1, 1, 300])), isShape(/more heads/));
});

test.run();
