// Sampling ops: the Philox generator against its published known answers, randomUniform
// against the host's generator bit for bit, sampleTokens against a float64 reference sampler
// and against the distribution it should draw from (chi-square), tokenLogprobs against float64.
//
// Every backend is compared with the same reference under fixed seeds, so a seed gives the same
// tokens on every backend and in every runtime (up to draws that land within f32 rounding of a
// boundary, which the reference measures: such draws may differ, and are counted).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, ShapeError, createRuntime, philox4x32, philoxUniforms, randomUniform, sampleTokens, tokenLogprobs, uniformFromBits, type Backend, type SampleOptions } from 'webrlhf';
import { assertClose, rng } from './harness/reference.js';
import { keptDistribution, sampleRef, tokenLogprobRef } from './harness/sampling_reference.js';
import { legBackend, legBackendInstance as backend } from './harness/runtime.js';

const test = suite('sampling');

/**
 * A draw is near a boundary when a running mass came within this fraction of the total of its
 * threshold (~10× the f32 rounding of a device's sums). A GPT-2-wide flat row gives each token
 * ~2e-5 of the mass, so there most draws are near one; they still must match nearly always.
 */
const NEAR = 1e-5;

/** N rows of V logits in four styles: uniform, wide, tied (steps of 0.5), one dominant token. */
function logitRows(N: number, V: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(N * V);
  for (let n = 0; n < N; n++) {
    const style = n % 4;
    const peak = Math.floor(r() * V);
    for (let i = 0; i < V; i++) {
      const u = r() * 2 - 1;
      out[n * V + i] = style === 0 ? 3 * u : style === 1 ? 12 * u : style === 2 ? Math.round(8 * u) / 2 : u + (i === peak ? 6 : 0);
    }
  }
  return out;
}

/** sampleTokens on the leg's backend, read back as numbers. */
async function sample(be: Backend, logits: Float32Array, N: number, V: number, o: SampleOptions): Promise<number[]> {
  const t = be.tensor(logits, [N, V]);
  const out = be.zeros([N]);
  sampleTokens(t, out, o);
  const ids = Array.from(await be.read(out));
  t.dispose();
  out.dispose();
  return ids;
}

const hex = (words: Uint32Array) => Array.from(words, (w) => w.toString(16).padStart(8, '0')).join(' ');

test('Philox4x32-10 known-answer vectors (Random123 kat_vectors)', () => {
  assert.is(hex(philox4x32([0, 0, 0, 0], [0, 0])), '6627e8d5 e169c58d bc57ac4c 9b00dbd8');
  assert.is(hex(philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff])), '408f276d 41c83b0e a20bc7c6 6d5451fd');
  assert.is(hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])), 'd16cfe09 94fdcceb 5001e420 24126ea1');
});

test('randomUniform equals the host generator bit for bit (seeds past 2^32, streams, offsets)', async () => {
  const be = await backend();
  const draws = [
    { seed: 0, stream: 0, offset: 0, n: 4099 },
    { seed: 1, stream: 12345, offset: 7, n: 1000 },
    { seed: 2 ** 32 + 7, stream: 0, offset: 1, n: 2048 },
    { seed: Number.MAX_SAFE_INTEGER, stream: 2 ** 32 - 3000, offset: 2 ** 32 - 1, n: 3000 },
    { seed: 987654321, stream: 2 ** 31 + 5, offset: 2 ** 31, n: 333 },
  ];
  for (const { n, ...o } of draws) {
    const out = be.zeros([n]);
    randomUniform(out, o);
    const got = await be.read(out);
    const want = philoxUniforms(n, o);
    for (let i = 0; i < n; i++) {
      if (got[i] !== want[i]) assert.unreachable(`${JSON.stringify(o)}: element ${i} is ${got[i]}, the host drew ${want[i]}`);
    }
    assert.ok(want.every((u) => u >= 0 && u < 1));
    out.dispose();
  }
  // Past 65535 workgroups of 64 (the WebGPU grid's y dimension): spot checks.
  const n = 64 * 65535 + 100;
  const big = be.zeros([n]);
  const o = { seed: 77, stream: 10, offset: 3 };
  randomUniform(big, o);
  const got = await be.read(big);
  for (let i = 0; i < n; i += i < n - 200 ? 4099 : 1) {
    assert.is(got[i], Math.fround(uniformFromBits(philox4x32([o.stream + i, o.offset, 0, 0], [o.seed, 0])[0]!)), `element ${i}`);
  }
  big.dispose();
  // Any shape: elements in row-major order.
  const m = be.zeros([3, 5]);
  randomUniform(m, { seed: 9, stream: 4, offset: 2 });
  assert.equal(Array.from(await be.read(m)), Array.from(philoxUniforms(15, { seed: 9, stream: 4, offset: 2 })));
  m.dispose();
});

const CASES: SampleOptions[] = [
  { seed: 11, stream: 0, offset: 0, temperature: 0 },
  { seed: 12, stream: 100, offset: 3, temperature: 0.7 },
  { seed: 2 ** 40 + 13, stream: 0, offset: 1, temperature: 1 },
  { seed: 14, stream: 5, offset: 0, temperature: 1.5 },
  { seed: 15, stream: 0, offset: 9, temperature: 1, topK: 1 },
  { seed: 16, stream: 0, offset: 0, temperature: 1, topK: 5 },
  { seed: 17, stream: 7, offset: 2, temperature: 0.7, topK: 40 },
  { seed: 18, stream: 0, offset: 0, temperature: 1, topP: 0.5 },
  { seed: 19, stream: 0, offset: 4, temperature: 1.5, topP: 0.9 },
  { seed: 20, stream: 3, offset: 0, temperature: 0.7, topK: 40, topP: 0.9 },
  { seed: 21, stream: 0, offset: 8, temperature: 1, topK: 5, topP: 0.5 },
];

/**
 * Checks a backend's tokens against the reference's. A token may differ only where the
 * reference's draw was within NEAR of a boundary (f32 sums may round across it); returns how
 * many did.
 */
function compareWithReference(ids: number[], logits: Float32Array, V: number, o: SampleOptions): number {
  const u = philoxUniforms(ids.length, o);
  let differ = 0;
  ids.forEach((id, n) => {
    const ref = sampleRef(logits.subarray(n * V, (n + 1) * V), u[n]!, o);
    if (id === ref.token) return;
    if (ref.margin >= NEAR) assert.unreachable(`${JSON.stringify(o)}, V ${V}, row ${n}: token ${id}, the reference drew ${ref.token} (margin ${ref.margin})`);
    differ++;
  });
  return differ;
}

test('sampleTokens equals the float64 reference sampler (2,200 rows, every option)', async () => {
  const be = await backend();
  // Widths on and off the WebGPU workgroup sizes (32 to 256, chosen by V).
  const widths = [257, 1000, 50, 2003, 256, 77];
  let rows = 0;
  let differ = 0;
  for (const [c, o] of CASES.entries()) {
    const V = widths[c % widths.length]!;
    const N = 200;
    const logits = logitRows(N, V, 100 + c);
    differ += compareWithReference(await sample(be, logits, N, V, o), logits, V, o);
    rows += N;
  }
  assert.ok(differ <= rows / 200, `${differ} of ${rows} draws differ from the reference`);
});

test('sampleTokens on GPT-2-wide rows (V = 50257)', async () => {
  const be = await backend();
  const V = 50257;
  const N = 4;
  const logits = logitRows(N, V, 7);
  for (const o of [CASES[0]!, CASES[2]!, CASES[8]!, CASES[9]!, { seed: 3, stream: 0, offset: 0, temperature: 0.9, topK: 2000, topP: 0.95 }]) {
    assert.ok(compareWithReference(await sample(be, logits, N, V, o), logits, V, o) <= 1, JSON.stringify(o));
  }
});

test('a row draws the same token alone or inside a batch (counter stream + row)', async () => {
  const be = await backend();
  const [N, V] = [6, 97];
  const logits = logitRows(N, V, 3);
  const o = { seed: 5, stream: 40, offset: 2, temperature: 1.2, topK: 30, topP: 0.95 };
  const batch = await sample(be, logits, N, V, o);
  for (let r = 0; r < N; r++) {
    const alone = await sample(be, logits.slice(r * V, (r + 1) * V), 1, V, { ...o, stream: o.stream + r });
    assert.is(alone[0], batch[r], `row ${r}`);
  }
});

test('70,000 rows (past 65535 workgroups), one-token rows, and no rows', async () => {
  const be = await backend();
  const [N, V] = [70_000, 3];
  const logits = logitRows(N, V, 21);
  const o = { seed: 8, stream: 0, offset: 0, temperature: 1, topP: 0.9 };
  assert.ok(compareWithReference(await sample(be, logits, N, V, o), logits, V, o) <= N / 200);
  const [tl, tt, lp, ent] = [be.tensor(logits, [N, V]), be.tensor(new Float32Array(N).fill(2)), be.zeros([N]), be.zeros([N])];
  tokenLogprobs(tl, tt, lp, ent);
  const want = Array.from({ length: N }, (_, n) => tokenLogprobRef(logits.subarray(n * V, n * V + V), 2, 1).logprob);
  assertClose(await be.read(lp), want, { rtol: 1e-6, atol: 1e-5, what: 'logprobs of 70,000 rows' });
  for (const t of [tl, tt, lp, ent]) t.dispose();
  assert.equal(await sample(be, Float32Array.of(-3, 0, 5), 3, 1, { ...o, topK: 1 }), [0, 0, 0]);
  assert.equal(await sample(be, new Float32Array(0), 0, 5, o), []);
});

test('greedy is the argmax, lowest index on ties (−0 ties +0)', async () => {
  const be = await backend();
  const rows = [[1, 5, 5, 2], [3, 3, 3, 3], [-0, 0, -1, -2], [-7, -3, -3.5, -3], [0, 0, 0, 1]];
  assert.equal(await sample(be, Float32Array.from(rows.flat()), rows.length, 4, { seed: 0, stream: 0, offset: 0, temperature: 0 }), [1, 0, 0, 1, 3]);
  const V = 50257;
  const wide = new Float32Array(2 * V).fill(-1);
  wide[V + 50000] = wide[V + 40000] = 2; // row 1: a tie far along the row
  wide[7] = 1; // row 0: the max early
  assert.equal(await sample(be, wide, 2, V, { seed: 0, stream: 0, offset: 0, temperature: 0 }), [7, 40000]);
});

/** 0.999 quantiles of χ²(df), df = 1..20 (scipy.stats.chi2.ppf(0.999, df), rounded up at the 3rd decimal). */
const CHI2_999 = [10.828, 13.816, 16.266, 18.467, 20.515, 22.458, 24.322, 26.124, 27.877, 29.588, 31.264, 32.909, 34.528, 36.123, 37.697, 39.252, 40.790, 42.312, 43.820, 45.315];

/** Pearson's statistic and its degrees of freedom; bins expecting fewer than 5 draws are pooled. */
function chiSquare(counts: number[], p: Float64Array, draws: number): { stat: number; df: number } {
  const bins: [number, number][] = [];
  let pooled: [number, number] = [0, 0];
  p.forEach((pi, i) => {
    if (pi === 0) return;
    if (pi * draws >= 5) bins.push([counts[i]!, pi * draws]);
    else pooled = [pooled[0] + counts[i]!, pooled[1] + pi * draws];
  });
  if (pooled[1] > 0) bins.push(pooled);
  return { stat: bins.reduce((s, [o, e]) => s + (o - e) ** 2 / e, 0), df: bins.length - 1 };
}

test('sampleTokens draws from softmax(logits / T) on the kept set (chi-square, 20,000 draws each)', async () => {
  const be = await backend();
  // V = 16, magnitudes from −3.4 to 2.9, not sorted.
  const row = [0.3, -1.2, 2.9, 1.1, -2.6, 0.8, 2.2, -0.4, -3.4, 1.7, 0.1, -1.9, 2.5, -0.9, 1.4, -2.2];
  const V = row.length;
  const draws = 20_000;
  const logits = new Float32Array(draws * V);
  for (let n = 0; n < draws; n++) logits.set(row, n * V);
  const cases = [
    { temperature: 1 }, { temperature: 0.6 }, { temperature: 1.7 },
    { temperature: 1, topK: 5 }, { temperature: 1, topP: 0.8 }, { temperature: 0.8, topK: 8, topP: 0.9 },
  ];
  for (const [c, opts] of cases.entries()) {
    const o = { seed: 1000 + c, stream: 0, offset: c, ...opts };
    const kept = sampleRef(Float32Array.from(row), 0.5, o).kept;
    const p = keptDistribution(Float32Array.from(row), o.temperature, kept);
    const ids = await sample(be, logits, draws, V, o);
    const counts = new Array<number>(V).fill(0);
    for (const id of ids) counts[id]!++;
    // topK / topP never emit a token outside their set.
    counts.forEach((k, i) => { if (p[i] === 0) assert.is(k, 0, `${JSON.stringify(opts)}: token ${i} is outside the kept set`); });
    const { stat, df } = chiSquare(counts, p, draws);
    assert.ok(stat < CHI2_999[df - 1]!, `${JSON.stringify(opts)}: χ² = ${stat.toFixed(2)} with ${df} df, above the 0.999 quantile ${CHI2_999[df - 1]}`);
  }
});

test('tokenLogprobs equals float64 log-softmax and entropy (scale ≠ 1, logits up to ±80)', async () => {
  const be = await backend();
  for (const [N, V, scale, magnitude] of [[40, 300, 1, 3], [30, 1000, 1 / 0.7, 80], [25, 77, 2.5, 10], [3, 50257, 1, 80], [4, 5, 0.5, 80]] as const) {
    const r = rng(N * V);
    const logits = Float32Array.from({ length: N * V }, () => magnitude * (2 * r() - 1));
    const targets = Array.from({ length: N }, (_, n) => (n % 3 === 0 ? V - 1 : Math.floor(r() * V)));
    // A target outside 0..V-1 (or not an integer) gives NaN.
    targets[1] = -1;
    if (N > 2) targets[2] = V;
    if (N > 3) targets[3] = 1.5;
    const [tl, tt, lp, ent] = [be.tensor(logits, [N, V]), be.tensor(targets), be.zeros([N]), be.zeros([N])];
    tokenLogprobs(tl, tt, lp, ent, { scale });
    const refs = targets.map((t, n) => tokenLogprobRef(logits.subarray(n * V, (n + 1) * V), t, scale));
    const got = await be.read(lp);
    refs.forEach((ref, n) => { if (Number.isNaN(ref.logprob)) assert.ok(Number.isNaN(got[n]!), `row ${n}: target ${targets[n]} should give NaN`); });
    const valid = refs.map((ref, n) => (Number.isNaN(ref.logprob) ? 0 : n));
    assertClose(valid.map((n) => got[n]!), valid.map((n) => refs[n]!.logprob), { rtol: 1e-6, atol: 1e-5, what: `logprobs ${N}×${V}, scale ${scale}` });
    assertClose(await be.read(ent), refs.map((ref) => ref.entropy), { rtol: 1e-5, atol: 1e-5, what: `entropies ${N}×${V}, scale ${scale}` });
    for (const t of [tl, tt, lp, ent]) t.dispose();
  }
});

/** Runs `call` and checks that it throws `type` with a message matching `pattern`. */
function throwsTyped(call: () => void, type: new (...a: never[]) => Error, pattern: RegExp): void {
  try {
    call();
  } catch (e) {
    assert.instance(e, type);
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected a ${type.name} matching ${pattern}`);
}

test('bad options and shapes are typed errors naming what is wrong', async () => {
  const be = await backend();
  const logits = be.tensor(new Float32Array(12), [3, 4]);
  const out = be.zeros([3]);
  const base = { seed: 1, stream: 0, offset: 0, temperature: 1 };
  for (const temperature of [-1, NaN, Infinity, 1e-300]) throwsTyped(() => sampleTokens(logits, out, { ...base, temperature }), ConfigError, /temperature/);
  for (const topK of [-1, 1.5, NaN]) throwsTyped(() => sampleTokens(logits, out, { ...base, topK }), ConfigError, /topK/);
  for (const topP of [0, -0.5, 1.5, NaN]) throwsTyped(() => sampleTokens(logits, out, { ...base, topP }), ConfigError, /topP/);
  for (const seed of [-1, 0.5, 2 ** 53]) throwsTyped(() => sampleTokens(logits, out, { ...base, seed }), ConfigError, /seed/);
  throwsTyped(() => sampleTokens(logits, out, { ...base, stream: 2 ** 32 - 2 }), ConfigError, /stream/); // rows 2 and 3 pass 2^32
  throwsTyped(() => randomUniform(out, { seed: 0, stream: 0, offset: 2 ** 32 }), ConfigError, /offset/);
  throwsTyped(() => randomUniform(out, { seed: 0, stream: -1, offset: 0 }), ConfigError, /stream/);
  throwsTyped(() => sampleTokens(logits, be.zeros([4]), base), ShapeError, /out has shape \[4\], expected \[3\]/);
  throwsTyped(() => sampleTokens(be.zeros([12]), out, base), ShapeError, /logits has shape/);
  throwsTyped(() => sampleTokens(be.zeros([3, 0]), out, base), ShapeError, /V must be in/);
  const shared = be.zeros([128]);
  throwsTyped(() => sampleTokens(be.view(shared, 0, [3, 4]), be.view(shared, 64, [3]), base), ShapeError, /shares storage/);
  for (const scale of [0, -1, Infinity]) throwsTyped(() => tokenLogprobs(logits, out, be.zeros([3]), be.zeros([3]), { scale }), ConfigError, /scale/);
  throwsTyped(() => tokenLogprobs(logits, be.zeros([2]), be.zeros([3]), be.zeros([3])), ShapeError, /targets has shape/);
  throwsTyped(() => tokenLogprobs(be.zeros([3, 0]), out, be.zeros([3]), be.zeros([3])), ShapeError, /V must be in/);
  const lp = be.zeros([3]);
  throwsTyped(() => tokenLogprobs(logits, out, lp, lp), ShapeError, /same tensor/);
});

if (legBackend() === 'wasm') {
  test('WASM sampling and logprobs do not depend on the thread count (bitwise)', async () => {
    const results: Float32Array[][] = [];
    for (const threads of [1, 3]) {
      const rt = await createRuntime({ backend: 'wasm', threads });
      try {
        const be = rt.backend;
        const [N, V] = [40, 2003]; // big enough to be split
        const logits = be.tensor(logitRows(N, V, 9), [N, V]);
        const [ids, lp, ent] = [be.zeros([N]), be.zeros([N]), be.zeros([N])];
        sampleTokens(logits, ids, { seed: 4, stream: 0, offset: 0, temperature: 0.9, topK: 100, topP: 0.9 });
        tokenLogprobs(logits, ids, lp, ent, { scale: 1.3 });
        results.push(await Promise.all([ids, lp, ent].map((t) => be.read(t))));
      } finally {
        rt.dispose();
      }
    }
    for (let k = 0; k < 3; k++) assert.equal(Array.from(results[1]![k]!), Array.from(results[0]![k]!), `output ${k}`);
  });
}

test.run();
