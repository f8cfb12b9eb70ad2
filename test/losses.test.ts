// The reward-loss ops (ALGORITHMS.md §2–§6) on the leg's backend: hand-computed golden
// values, agreement with the float64 references on random batches (padding included), and
// gradients against central finite differences of those references.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, ShapeError, bradleyTerryLoss, dpoLoss, gae, gaussianReparameterize, gaussianReparameterizeBackward, maskedWhiten, mibLoss, ppoPolicyLoss, ppoRewards, ppoValueLoss, rlmecLoss, softmaxCrossEntropy, type Backend, type Tensor } from 'webrlhf';
import * as ref from './harness/loss_reference.js';
import * as mib from './harness/mib_reference.js';
import { errorOf } from './harness/rejects.js';
import { assertClose, rng } from './harness/reference.js';
import { legBackendInstance as backend } from './harness/runtime.js';

const test = suite('losses');

/** Uploads host arrays of the given shapes, runs `f`, reads the outputs (of the given shapes) back, frees everything. */
async function runShaped<O extends string>(
  be: Backend, inputs: Record<string, { data: ArrayLike<number>; shape: number[] }>, outputs: Record<O, number[]>,
  f: (t: Record<string, Tensor>) => void,
): Promise<Record<O, number[]>> {
  const t: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) t[k] = be.tensor(Float32Array.from(v.data), v.shape);
  for (const [k, shape] of Object.entries(outputs) as [string, number[]][]) t[k] = be.zeros(shape);
  try {
    f(t);
    const out = {} as Record<O, number[]>;
    for (const k of Object.keys(outputs) as O[]) out[k] = Array.from(await be.read(t[k]!));
    return out;
  } finally {
    for (const x of Object.values(t)) x.dispose();
  }
}

/** runShaped for flat arrays: inputs and outputs are vectors. */
function run<O extends string>(
  be: Backend, inputs: Record<string, ArrayLike<number>>, outputs: Record<O, number>,
  f: (t: Record<string, Tensor>) => void,
): Promise<Record<O, number[]>> {
  const shaped = Object.fromEntries(Object.entries(inputs).map(([k, data]) => [k, { data, shape: [data.length] }]));
  const sizes = Object.fromEntries(Object.entries(outputs).map(([k, n]) => [k, [n as number]])) as Record<O, number[]>;
  return runShaped(be, shaped, sizes, f);
}

/** R rows of T tokens: left padding, a response of random length, right padding. */
function batch(R: number, T: number, seed: number) {
  const r = rng(seed);
  const mask: number[] = [];
  for (let row = 0; row < R; row++) {
    const start = Math.floor(r() * (T / 2));
    const length = 1 + Math.floor(r() * (T - start - 1));
    for (let t = 0; t < T; t++) mask.push(Number(t >= start && t < start + length));
  }
  const values = (scale: number, shift = 0) => mask.map(() => shift + scale * (2 * r() - 1));
  // Off the mask: NaN, as tokenLogprobs gives for a position with no target. It must not leak.
  const padded = (v: number[]) => v.map((x, i) => (mask[i] ? x : NaN));
  return { mask, values, padded, rand: r };
}

const near = (a: number, b: number, tol = 2e-6) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('masked mean, variance and whitening: hand-computed values', async () => {
  const be = await backend();
  // Masked values 2, 4, 6: μ = 4 and the unbiased σ² = (4 + 0 + 4) / 2 = 4, so σ = 2. With
  // μ ≠ 0 and σ ≠ 1 every plausible formula gives other numbers: (x − μ)/σ = (−1, 0, 1);
  // the spec's mean-kept (x − μ)/σ + μ = (3, 4, 5); x/σ = (1, 2, 3); the biased σ (√(8/3))
  // gives (±1.2247, 0); the padded 100 left in the statistics moves everything.
  const x = [2, 4, 6, 100];
  const mask = [1, 1, 1, 0];
  assert.is(ref.maskedMean(x, mask), 4);
  assert.is(ref.maskedVar(x, mask), 4);
  const shifted = await run(be, { x, mask }, { out: 4 }, (t) => maskedWhiten(t.x!, t.mask!, t.out!, { shiftMean: true }));
  assertClose(shifted.out, [-1, 0, 1, 0], { atol: 1e-6, what: 'whiten (shift mean): (x − μ)/σ' });
  const kept = await run(be, { x, mask }, { out: 4 }, (t) => maskedWhiten(t.x!, t.mask!, t.out!, { shiftMean: false }));
  assertClose(kept.out, [3, 4, 5, 0], { atol: 1e-6, what: 'whiten (mean kept): (x − μ)/σ + μ' });
  // One token: no spread to scale by (σ² = 0), so the shifted value is 0 and the kept one x.
  const one = await run(be, { x: [5, 7], mask: [0, 1] }, { out: 2 }, (t) => maskedWhiten(t.x!, t.mask!, t.out!, { shiftMean: false }));
  assertClose(one.out, [0, 7], { what: 'whiten of one token' });
});

test('maskedWhiten agrees with float64 on a padded batch', async () => {
  const be = await backend();
  const b = batch(9, 37, 1);
  const x = b.values(3, 0.7);
  for (const shiftMean of [true, false]) {
    const got = await run(be, { x: b.padded(x), mask: b.mask }, { out: x.length }, (t) => maskedWhiten(t.x!, t.mask!, t.out!, { shiftMean }));
    assertClose(got.out, ref.maskedWhiten(x, b.mask, shiftMean), { rtol: 2e-5, atol: 2e-5, what: `whiten shiftMean=${shiftMean}` });
  }
});

test('GAE on a small trajectory: hand-computed values, padding on both sides', async () => {
  const be = await backend();
  // One row: a left pad, three response tokens, a right pad. γ = 1, λ = 0.95:
  // δ = (0.1, 0.1, 0.3), A = (0.46575, 0.385, 0.3), R = A + V = (0.96575, 0.985, 1).
  const rewards = [9, 0, 0, 1, 9];
  const values = [9, 0.5, 0.6, 0.7, 9];
  const mask = [0, 1, 1, 1, 0];
  const got = await run(be, { rewards, values, mask }, { advantages: 5, returns: 5 }, (t) =>
    gae(t.rewards!, t.values!, t.mask!, t.advantages!, t.returns!, { gamma: 1, lam: 0.95, rows: 1 }),
  );
  assertClose(got.advantages, [0, 0.46575, 0.385, 0.3, 0], { atol: 1e-6, what: 'advantages' });
  assertClose(got.returns, [0, 0.96575, 0.985, 1, 0], { atol: 1e-6, what: 'returns' });
  assert.equal(ref.gae(rewards, values, mask, 1, 1, 0.95).advantages.map((v) => Math.round(v * 1e6) / 1e6), [0, 0.46575, 0.385, 0.3, 0]);
});

test('GAE agrees with float64 on a padded batch (γ < 1, λ < 1)', async () => {
  const be = await backend();
  const R = 70; // more rows than the WGSL kernel's invocations
  const b = batch(R, 23, 2);
  const rewards = b.values(1);
  const values = b.values(2);
  const got = await run(be, { rewards: b.padded(rewards), values: b.padded(values), mask: b.mask }, { advantages: R * 23, returns: R * 23 }, (t) =>
    gae(t.rewards!, t.values!, t.mask!, t.advantages!, t.returns!, { gamma: 0.97, lam: 0.9, rows: R }),
  );
  const want = ref.gae(rewards, values, b.mask, R, 0.97, 0.9);
  assertClose(got.advantages, want.advantages, { rtol: 1e-5, atol: 1e-5, what: 'advantages' });
  assertClose(got.returns, want.returns, { rtol: 1e-5, atol: 1e-5, what: 'returns' });
});

test('KL estimators and per-token rewards: hand-computed values', async () => {
  const be = await backend();
  // Δ = (0.5, −0.5) in one row; the score 2 lands on the last response token (position 2).
  const logprobs = [-1, -1.5, -2, NaN];
  const refLogprobs = [-1, -2, -1.5, NaN];
  const mask = [0, 1, 1, 0];
  const expected = { k1: [0.5, -0.5], k3: [Math.exp(-0.5) - 0.5, Math.exp(0.5) - 1.5], clamped: [0.5, 0] } as const;
  assertClose([expected.k3[0], expected.k3[1]], [0.10653066, 0.14872127], { atol: 1e-8, what: 'k3 by hand' });
  for (const est of ['k1', 'k3', 'clamped'] as const) {
    const got = await run(be, { logprobs, refLogprobs, mask, scores: [2] }, { rewards: 4, kl: 4, stats: 4 }, (t) =>
      ppoRewards({ logprobs: t.logprobs!, refLogprobs: t.refLogprobs!, mask: t.mask!, scores: t.scores! }, { rewards: t.rewards!, kl: t.kl!, stats: t.stats! }, { klCoef: 0.1, klEstimator: est }),
    );
    const [a, b2] = expected[est];
    assertClose(got.kl, [0, a, b2, 0], { atol: 1e-6, what: `${est} kl` });
    assertClose(got.rewards, [0, -0.1 * a, -0.1 * b2 + 2, 0], { atol: 1e-6, what: `${est} rewards` });
    assertClose(got.stats, [a + b2, 3.5, -0.1 * (a + b2), 2], { atol: 1e-6, what: `${est} stats` });
  }
});

test('ppoRewards agrees with float64 on a padded batch', async () => {
  const be = await backend();
  const R = 67;
  const T = 19;
  const b = batch(R, T, 3);
  const logprobs = b.values(1, -2);
  const refLogprobs = logprobs.map((v) => v + 0.3 * (2 * b.rand() - 1));
  const scores = Array.from({ length: R }, () => 3 * b.rand() - 1);
  for (const est of ['k1', 'k3', 'clamped'] as const) {
    const got = await run(be, { logprobs: b.padded(logprobs), refLogprobs: b.padded(refLogprobs), mask: b.mask, scores }, { rewards: R * T, kl: R * T, stats: 4 }, (t) =>
      ppoRewards({ logprobs: t.logprobs!, refLogprobs: t.refLogprobs!, mask: t.mask!, scores: t.scores! }, { rewards: t.rewards!, kl: t.kl!, stats: t.stats! }, { klCoef: 0.05, klEstimator: est }),
    );
    const want = ref.ppoRewards(logprobs, refLogprobs, b.mask, scores, 0.05, est);
    assertClose(got.kl, want.kl, { rtol: 1e-5, atol: 1e-6, what: `${est} kl` });
    assertClose(got.rewards, want.rewards, { rtol: 1e-5, atol: 1e-6, what: `${est} rewards` });
    assertClose(got.stats, want.stats, { rtol: 1e-5, atol: 1e-5, what: `${est} stats` });
  }
});

test('clipped policy loss and its gradient: golden numbers', async () => {
  const be = await backend();
  // ρ = (1, 1.5, 0.5, 1.5), A = (1, 1, −1, −1), ε = 0.2. Terms max(−Aρ, −A·clip ρ):
  // −1 (unclipped), −1.2 (clipped), 0.8 (clipped), 1.5 (unclipped); the fifth token is padding.
  const old = [-1, -1, -1, -1, NaN];
  const logprobs = [-1, -1 + Math.log(1.5), -1 + Math.log(0.5), -1 + Math.log(1.5), NaN];
  const advantages = [1, 1, -1, -1, NaN];
  const mask = [1, 1, 1, 1, 0];
  const entropies = [1, 2, 3, 4, NaN];
  const got = await run(be, { logprobs, old, advantages, mask, entropies }, { d: 5, stats: 5 }, (t) =>
    ppoPolicyLoss({ logprobs: t.logprobs!, oldLogprobs: t.old!, advantages: t.advantages!, mask: t.mask!, entropies: t.entropies! }, { dLogprobs: t.d!, stats: t.stats! }, { cliprange: 0.2 }),
  );
  const approxkl = (0.5 * (2 * Math.log(1.5) ** 2 + Math.log(0.5) ** 2)) / 4;
  assertClose(got.stats, [0.025, 0.5, approxkl, 1.125, 2.5], { atol: 2e-6, what: 'stats (loss, clipfrac, approxkl, ratio, entropy)' });
  // Gradient −Aρ/n where the unclipped term wins, 0 where the clipped one does.
  assertClose(got.d, [-0.25, 0, 0, 0.375, 0], { atol: 1e-6, what: 'dLogprobs' });
});

test('clipped policy loss: float64 agreement and finite differences', async () => {
  const be = await backend();
  const b = batch(11, 29, 4);
  const old = b.values(1, -2);
  const logprobs = old.map((v) => v + 0.4 * (2 * b.rand() - 1));
  const advantages = b.values(1.5);
  const entropies = b.values(1, 2);
  const got = await run(be, { logprobs: b.padded(logprobs), old: b.padded(old), advantages: b.padded(advantages), mask: b.mask, entropies: b.padded(entropies) }, { d: logprobs.length, stats: 5 }, (t) =>
    ppoPolicyLoss({ logprobs: t.logprobs!, oldLogprobs: t.old!, advantages: t.advantages!, mask: t.mask!, entropies: t.entropies! }, { dLogprobs: t.d!, stats: t.stats! }, { cliprange: 0.2 }),
  );
  const want = ref.ppoPolicyLoss(logprobs, old, advantages, b.mask, entropies, 0.2);
  assertClose(got.stats, want.stats, { rtol: 1e-5, atol: 1e-6, what: 'stats' });
  const f = (lp: number[]) => ref.ppoPolicyLoss(lp, old, advantages, b.mask, entropies, 0.2).loss;
  assertClose(got.d, ref.numericGradient(f, logprobs).map((g, i) => (b.mask[i] ? g : 0)), { rtol: 1e-4, atol: 1e-6, what: 'dLogprobs vs finite differences' });
});

test('clipped value loss and its gradient: golden numbers', async () => {
  const be = await backend();
  // (V − R)² vs (clip(V, V_old ± 0.2) − R)²: 1 vs 1, 4 vs 1.44 (unclipped wins), 0.25 vs 0.64 (clipped wins).
  const values = [1, 2, 1.5, NaN];
  const old = [1, 1, 1, NaN];
  const returns = [0, 0, 2, NaN];
  const mask = [1, 1, 1, 0];
  const got = await run(be, { values, old, returns, mask }, { d: 4, stats: 2 }, (t) =>
    ppoValueLoss({ values: t.values!, oldValues: t.old!, returns: t.returns!, mask: t.mask! }, { dValues: t.d!, stats: t.stats! }, { cliprangeValue: 0.2, vfCoef: 0.1 }),
  );
  assertClose(got.stats, [0.94, 1 / 3], { atol: 1e-6, what: 'stats (loss, clipfrac)' });
  assertClose(got.d, [0.1 / 3, 0.2 / 3, 0, 0], { atol: 1e-7, what: 'dValues (vf_coef 0.1)' });
});

test('clipped value loss: float64 agreement and finite differences', async () => {
  const be = await backend();
  const b = batch(7, 31, 5);
  const old = b.values(1);
  const values = old.map((v) => v + 0.5 * (2 * b.rand() - 1));
  const returns = b.values(1.5);
  const got = await run(be, { values: b.padded(values), old: b.padded(old), returns: b.padded(returns), mask: b.mask }, { d: values.length, stats: 2 }, (t) =>
    ppoValueLoss({ values: t.values!, oldValues: t.old!, returns: t.returns!, mask: t.mask! }, { dValues: t.d!, stats: t.stats! }, { cliprangeValue: 0.2, vfCoef: 0.5 }),
  );
  const want = ref.ppoValueLoss(values, old, returns, b.mask, 0.2);
  assertClose(got.stats, want.stats, { rtol: 1e-5, atol: 1e-6, what: 'stats' });
  const f = (v: number[]) => 0.5 * ref.ppoValueLoss(v, old, returns, b.mask, 0.2).loss;
  assertClose(got.d, ref.numericGradient(f, values).map((g, i) => (b.mask[i] ? g : 0)), { rtol: 1e-4, atol: 1e-6, what: 'dValues vs finite differences' });
});

test('Bradley–Terry loss and gradient: golden numbers, with and without centring', async () => {
  const be = await backend();
  // Chosen (2, 0), rejected (1, 1): margins (1, −1); −log σ(1) = 0.3132617, −log σ(−1) = 1.3132617.
  const scores = [2, 0, 1, 1];
  const plain = await run(be, { scores }, { d: 4, stats: 4 }, (t) => bradleyTerryLoss(t.scores!, t.d!, t.stats!));
  assertClose(plain.stats, [0.8132617, 0.5, 0, 1], { atol: 1e-6, what: 'stats (loss, accuracy, margin, mean reward)' });
  const s1 = 1 / (1 + Math.exp(1)); // σ(−1)
  const s2 = 1 - s1; // σ(1)
  assertClose(plain.d, [-s1 / 2, -s2 / 2, s1 / 2, s2 / 2], { atol: 1e-7, what: 'dScores' });
  // centre 0.01: + 0.01·mean(3², 1²) = 0.05, and 2·0.01·(r_w + r_l)/P = (0.03, 0.01) on both sides.
  const centred = await run(be, { scores }, { d: 4, stats: 4 }, (t) => bradleyTerryLoss(t.scores!, t.d!, t.stats!, { centerCoefficient: 0.01 }));
  assertClose(centred.stats, [0.8632617, 0.5, 0, 1], { atol: 1e-6, what: 'centred stats' });
  assertClose(centred.d, [0.03 - s1 / 2, 0.01 - s2 / 2, 0.03 + s1 / 2, 0.01 + s2 / 2], { atol: 1e-7, what: 'centred dScores' });
});

test('Bradley–Terry: float64 agreement and finite differences on 150 pairs', async () => {
  const be = await backend();
  const r = rng(6);
  const scores = Array.from({ length: 300 }, () => 4 * (2 * r() - 1));
  const got = await run(be, { scores }, { d: 300, stats: 4 }, (t) => bradleyTerryLoss(t.scores!, t.d!, t.stats!, { centerCoefficient: 0.02 }));
  assertClose(got.stats, ref.bradleyTerryLoss(scores, 0.02).stats, { rtol: 1e-5, atol: 1e-6, what: 'stats' });
  assertClose(got.d, ref.numericGradient((s) => ref.bradleyTerryLoss(s, 0.02).loss, scores), { rtol: 1e-4, atol: 1e-7, what: 'dScores vs finite differences' });
});

test('DPO loss and gradient: golden numbers', async () => {
  const be = await backend();
  // One pair of two-token rows. Chosen: s = −1, s_ref = −2; rejected: s = −3, s_ref = −2.
  // β = 0.1: h = 2, L = −log σ(0.2) = 0.5981389, ∂L/∂s_w = −0.1·σ(−0.2) = −0.0450166.
  const logprobs = [NaN, -1, -1.5, -1.5];
  const refLogprobs = [NaN, -2, -1, -1];
  const mask = [0, 1, 1, 1];
  const got = await run(be, { logprobs, refLogprobs, mask }, { d: 4, stats: 7 }, (t) =>
    dpoLoss({ logprobs: t.logprobs!, refLogprobs: t.refLogprobs!, mask: t.mask! }, { dLogprobs: t.d!, stats: t.stats! }, { beta: 0.1, rows: 2 }),
  );
  assertClose(got.stats, [0.5981389, 0.1, -0.1, 1, 0.2, -1, -3], { atol: 1e-6, what: 'stats (loss, rewards, accuracy, margin, logps)' });
  assertClose(got.d, [0, -0.0450166, 0.0450166, 0.0450166], { atol: 1e-7, what: 'dLogprobs' });
});

test('DPO: float64 agreement and finite differences on a padded batch', async () => {
  const be = await backend();
  const rows = 2 * 70;
  const T = 9;
  const b = batch(rows, T, 7);
  const logprobs = b.values(1, -2);
  const refLogprobs = logprobs.map((v) => v + 0.5 * (2 * b.rand() - 1));
  const got = await run(be, { logprobs: b.padded(logprobs), refLogprobs: b.padded(refLogprobs), mask: b.mask }, { d: rows * T, stats: 7 }, (t) =>
    dpoLoss({ logprobs: t.logprobs!, refLogprobs: t.refLogprobs!, mask: t.mask! }, { dLogprobs: t.d!, stats: t.stats! }, { beta: 0.5, rows }),
  );
  const want = ref.dpoLoss(logprobs, refLogprobs, b.mask, rows, 0.5);
  assertClose(got.stats, want.stats, { rtol: 1e-5, atol: 1e-5, what: 'stats' });
  const f = (lp: number[]) => ref.dpoLoss(lp, refLogprobs, b.mask, rows, 0.5).loss;
  assertClose(got.d, ref.numericGradient(f, logprobs).map((g, i) => (b.mask[i] ? g : 0)), { rtol: 1e-4, atol: 1e-7, what: 'dLogprobs vs finite differences' });
});

test('RLMEC loss and gradient: golden numbers', async () => {
  const be = await backend();
  // Sample tokens (r ≠ 0): ρ = (1, 1.5, 0.5), r = (−0.1, 0.2, −0.05), ε = 0.3: ρr = (−0.1, 0.3, −0.025)
  // and clip(ρ)r = (−0.1, 0.26, −0.035), so w = (−0.1, 0.26, −0.035), the last two clipped.
  // Rewrite tokens (c ≠ 0): c = (1, 0.5) at log-probs −2, −3. Token 5 is neither (NaN).
  const ref = [-1, -1, -1, NaN, NaN, NaN];
  const logprobs = [-1, -1 + Math.log(1.5), -1 + Math.log(0.5), -2, -3, NaN];
  const rewards = [-0.1, 0.2, -0.05, 0, 0, 0];
  const imitation = [0, 0, 0, 1, 0.5, 0];
  const got = await run(be, { logprobs, ref, rewards, imitation }, { d: 6, stats: 5 }, (t) =>
    rlmecLoss({ logprobs: t.logprobs!, refLogprobs: t.ref!, rewards: t.rewards!, imitation: t.imitation! }, { dLogprobs: t.d!, stats: t.stats! }, { cliprange: 0.3, imitationWeight: 1 }),
  );
  const w = [-0.1, 0.26, -0.035];
  const rl = -w.reduce((a, wi, i) => a + wi * logprobs[i]!, 0) / 3;
  const reg = (1 * 2 + 0.5 * 3) / 2;
  assertClose(got.stats, [rl + reg, rl, reg, 1, 2 / 3], { atol: 2e-6, what: 'stats (loss, rl, imitation, ratio, clipfrac)' });
  assertClose(got.d, [0.1 / 3, -0.26 / 3, 0.035 / 3, -1 / 2, -0.5 / 2, 0], { atol: 1e-6, what: 'dLogprobs: −w/N, −λc/N_c' });
});

test('RLMEC loss: float64 agreement and finite differences (ρ held constant)', async () => {
  const be = await backend();
  const b = batch(12, 21, 9);
  const r = b.rand;
  const refLp = b.values(1, -2);
  const logprobs = refLp.map((v) => v + 0.5 * (2 * r() - 1));
  // Rows alternate: samples carry rewards, rewrites carry imitation weights.
  const rewards = b.mask.map((m, i) => (m && Math.floor(i / 21) % 2 === 0 ? (r() < 0.5 ? -0.1 * r() : 0.5 * r()) : 0));
  const imitation = b.mask.map((m, i) => (m && Math.floor(i / 21) % 2 === 1 ? (r() < 0.3 ? 1 : 0.5) : 0));
  const used = (i: number) => rewards[i] !== 0 || imitation[i] !== 0;
  const got = await run(be, { logprobs: logprobs.map((v, i) => (used(i) ? v : NaN)), ref: refLp.map((v, i) => (rewards[i] ? v : NaN)), rewards, imitation }, { d: logprobs.length, stats: 5 }, (t) =>
    rlmecLoss({ logprobs: t.logprobs!, refLogprobs: t.ref!, rewards: t.rewards!, imitation: t.imitation! }, { dLogprobs: t.d!, stats: t.stats! }, { cliprange: 0.3, imitationWeight: 0.7 }),
  );
  assertClose(got.stats, ref.rlmecLoss(logprobs, refLp, rewards, imitation, 0.3, 0.7).stats, { rtol: 1e-5, atol: 1e-6, what: 'stats' });
  const numeric = ref.numericGradient((lp) => ref.rlmecLoss(lp, refLp, rewards, imitation, 0.3, 0.7, logprobs).loss, logprobs);
  assertClose(got.d, numeric.map((g, i) => (used(i) ? g : 0)), { rtol: 1e-4, atol: 1e-7, what: 'dLogprobs vs finite differences' });
});

// ---- RLP-UML: gaussianReparameterize and mibLoss (ALGORITHMS.md §4) ----------------------


/** n values in [lo, hi), rounded to f32 so the reference sees what the device sees. */
function uniformF32(n: number, seed: number, lo: number, hi: number): number[] {
  const r = rng(seed);
  return Array.from(Float32Array.from({ length: n }, () => lo + (hi - lo) * r()));
}

/** A random mibLoss input of B rows and K dimensions: σ in [0.3, 2), z drawn near either mean. */
function mibInputs(B: number, K: number, seed: number): Record<keyof mib.MIBInputs, number[]> {
  const mu1 = uniformF32(B * K, seed, -1, 1);
  const mu2 = uniformF32(B * K, seed + 1, -1, 1);
  const sigma1 = uniformF32(B * K, seed + 2, 0.3, 2);
  const sigma2 = uniformF32(B * K, seed + 3, 0.3, 2);
  const e = uniformF32(2 * B * K, seed + 4, -2, 2);
  const z1 = Array.from(Float32Array.from(mu1, (m, i) => m + sigma1[i]! * e[i]!));
  const z2 = Array.from(Float32Array.from(mu2, (m, i) => m + sigma2[i]! * e[B * K + i]!));
  return { mu1, sigma1, z1, mu2, sigma2, z2, tPos: uniformF32(B, seed + 5, -4, 4), tNeg: uniformF32(B, seed + 6, -4, 4) };
}

const MIB_GRADS = { dMu1: 'mu1', dSigma1: 'sigma1', dZ1: 'z1', dMu2: 'mu2', dSigma2: 'sigma2', dZ2: 'z2', dTPos: 'tPos', dTNeg: 'tNeg' } as const;

/** Runs mibLoss on host inputs; returns every gradient and the stats. */
async function runMIB(be: Backend, x: Record<keyof mib.MIBInputs, number[]>, B: number, K: number, o: { beta: number; weight?: number }) {
  const shapeOf = (name: string) => (name.startsWith('t') ? [B] : [B, K]);
  const inputs = Object.fromEntries(Object.entries(x).map(([k, v]) => [k, { data: v, shape: shapeOf(k) }]));
  const outputs = { ...Object.fromEntries(Object.entries(MIB_GRADS).map(([d, i]) => [d, shapeOf(i)])), stats: [3] } as Record<keyof typeof MIB_GRADS | 'stats', number[]>;
  return runShaped(be, inputs, outputs, (t) => {
    const i = { mu1: t.mu1!, sigma1: t.sigma1!, z1: t.z1!, mu2: t.mu2!, sigma2: t.sigma2!, z2: t.z2!, tPos: t.tPos!, tNeg: t.tNeg! };
    const out = { dMu1: t.dMu1!, dSigma1: t.dSigma1!, dZ1: t.dZ1!, dMu2: t.dMu2!, dSigma2: t.dSigma2!, dZ2: t.dZ2!, dTPos: t.dTPos!, dTNeg: t.dTNeg!, stats: t.stats! };
    mibLoss(i, out, o);
  });
}

test('gaussianReparameterize and its backward: float64 agreement and finite differences', async () => {
  const be = await backend();
  const [R, K] = [7, 9];
  const n = R * K;
  const mu = uniformF32(n, 20, -2, 2);
  const raw = uniformF32(n, 21, -4, 4);
  const eps = uniformF32(n, 22, -2.5, 2.5);
  const dZ = uniformF32(n, 23, -1, 1);
  const dSigma = uniformF32(n, 24, -1, 1);
  const shaped = (data: number[]) => ({ data, shape: [R, K] });
  const got = await runShaped(be, { mu: shaped(mu), raw: shaped(raw), eps: shaped(eps), dZ: shaped(dZ), dSigma: shaped(dSigma) },
    { z: [R, K], sigma: [R, K], dMu: [R, K], dRaw: [R, K] }, (t) => {
      gaussianReparameterize(t.mu!, t.raw!, t.eps!, { z: t.z!, sigma: t.sigma! });
      gaussianReparameterizeBackward(t.dZ!, t.dSigma!, t.eps!, t.raw!, { dMu: t.dMu!, dRawSigma: t.dRaw! });
    });
  const want = mib.reparameterize(mu, raw, eps);
  assertClose(got.z, want.z, { rtol: 1e-5, atol: 1e-6, what: 'z' });
  assertClose(got.sigma, want.sigma, { rtol: 1e-5, atol: 1e-7, what: 'sigma' });
  // The backward is the gradient of Σ dZ·z + Σ dSigma·σ.
  const objective = (m: number[], r: number[]) => {
    const o = mib.reparameterize(m, r, eps);
    return o.z.reduce((s, z, i) => s + dZ[i]! * z + dSigma[i]! * o.sigma[i]!, 0);
  };
  assertClose(got.dMu, ref.numericGradient((m) => objective(m, raw), mu), { rtol: 1e-5, atol: 1e-6, what: 'dMu vs finite differences' });
  assertClose(got.dRaw, ref.numericGradient((r) => objective(mu, r), raw), { rtol: 1e-4, atol: 1e-6, what: 'dRawSigma vs finite differences' });
});

test('gaussianReparameterize backward: accumulate adds into dMu and dRawSigma', async () => {
  const be = await backend();
  const n = 130;
  const [raw, eps, dZ, dSigma, pMu, pRaw] = [0, 1, 2, 3, 4, 5].map((s) => uniformF32(n, 30 + s, -3, 3)) as number[][];
  const flat = (data: number[]) => ({ data, shape: [n] });
  const out = await runShaped(be, { raw: flat(raw!), eps: flat(eps!), dZ: flat(dZ!), dSigma: flat(dSigma!) }, { fresh: [n], freshRaw: [n], acc: [n], accRaw: [n] }, (t) => {
    be.write(t.acc!, pMu!);
    be.write(t.accRaw!, pRaw!);
    gaussianReparameterizeBackward(t.dZ!, t.dSigma!, t.eps!, t.raw!, { dMu: t.fresh!, dRawSigma: t.freshRaw! });
    gaussianReparameterizeBackward(t.dZ!, t.dSigma!, t.eps!, t.raw!, { dMu: t.acc!, dRawSigma: t.accRaw! }, { accumulate: true });
  });
  assertClose(out.fresh, dZ!, { atol: 0, rtol: 0, what: 'dMu = dZ' });
  assertClose(out.acc, out.fresh.map((v, i) => v + pMu![i]!), { rtol: 1e-6, atol: 1e-7, what: 'accumulated dMu' });
  assertClose(out.accRaw, out.freshRaw.map((v, i) => v + pRaw![i]!), { rtol: 1e-6, atol: 1e-7, what: 'accumulated dRawSigma' });
});

test('mibLoss: float64 agreement and finite differences of every input', async () => {
  const be = await backend();
  for (const [B, K, beta, weight, seed] of [[5, 3, 0.6, 0.7, 40], [70, 2, 1, 1, 50]] as const) {
    const x = mibInputs(B, K, seed);
    const got = await runMIB(be, x, B, K, { beta, weight });
    const want = mib.mibLoss(x, B, K, beta);
    assertClose(got.stats, [want.loss, want.jsd, want.skl], { rtol: 2e-5, atol: 2e-5, what: `stats (B=${B})` });
    for (const [d, input] of Object.entries(MIB_GRADS) as [keyof typeof MIB_GRADS, keyof mib.MIBInputs][]) {
      const numeric = ref.numericGradient((v) => weight * mib.mibLoss({ ...x, [input]: v }, B, K, beta).loss, x[input]);
      assertClose(got[d], numeric, { rtol: 1e-4, atol: 2e-6, what: `${d} vs finite differences (B=${B})` });
    }
  }
});

test('mibLoss: golden numbers of one dimension and two rows', async () => {
  const be = await backend();
  // μ1 = 0, σ1 = 1; μ2 = 1, σ2 = 2 in both rows; z1 = (0, 1), z2 = (1, 3). u_ij = (z_i − μ_j)/σ_j:
  // row 0: u11 = 0, u12 = −0.5, u21 = 1, u22 = 0 → ½(0.25 + 1 − 0 − 0) = 0.625;
  // row 1: u11 = 1, u12 = 0, u21 = 3, u22 = 1 → ½(0 + 9 − 1 − 1) = 3.5. D_SKL = (0.625 + 3.5)/4.
  // T all 0: I_JSD = −2·log 2. β = 2: L_M = 2 log 2 + 2·D_SKL.
  const x = { mu1: [0, 0], sigma1: [1, 1], z1: [0, 1], mu2: [1, 1], sigma2: [2, 2], z2: [1, 3], tPos: [0, 0], tNeg: [0, 0] };
  const got = await runMIB(be, x, 2, 1, { beta: 2 });
  const skl = (0.625 + 3.5) / 4;
  assertClose(got.stats, [2 * Math.LN2 + 2 * skl, -2 * Math.LN2, skl], { rtol: 1e-6, atol: 1e-6, what: 'stats (L_M, I_JSD, D_SKL)' });
  assertClose(got.dTPos, [-0.25, -0.25], { atol: 1e-7, what: 'dTPos = −σ(−T)/B' });
  assertClose(got.dTNeg, [0.25, 0.25], { atol: 1e-7, what: 'dTNeg = σ(T)/B' });
  // β/(2B) = 0.5: dμ1 = 0.5(u11 − u21)/σ1 = (−0.5, −1); dz1 = 0.5(u12/σ2 − u11/σ1) = (−0.125, −0.5).
  assertClose(got.dMu1, [-0.5, -1], { atol: 1e-6, what: 'dMu1' });
  assertClose(got.dZ1, [-0.125, -0.5], { atol: 1e-6, what: 'dZ1' });
});

test('mibLoss and gaussianReparameterize stay finite at extreme inputs', async () => {
  const be = await backend();
  const raw = [-1e4, -200, -90, -20, 0, 20, 90, 200, 1e4];
  const n = raw.length;
  const flat = (data: number[]) => ({ data, shape: [n] });
  const got = await runShaped(be, { mu: flat(raw.map(() => 0.5)), raw: flat(raw), eps: flat(raw.map(() => 1)), dZ: flat(raw.map(() => 1)), dSigma: flat(raw.map(() => 1)) },
    { z: [n], sigma: [n], dMu: [n], dRaw: [n] }, (t) => {
      gaussianReparameterize(t.mu!, t.raw!, t.eps!, { z: t.z!, sigma: t.sigma! });
      gaussianReparameterizeBackward(t.dZ!, t.dSigma!, t.eps!, t.raw!, { dMu: t.dMu!, dRawSigma: t.dRaw! });
    });
  for (const [k, v] of Object.entries(got)) assert.ok(v.every(Number.isFinite), `${k} has a non-finite value: ${v}`);
  // σ = softplus(raw) + 1e-7: the floor where softplus underflows, raw itself where it is large.
  assertClose(got.sigma, mib.reparameterize(raw.map(() => 0), raw, raw.map(() => 0)).sigma, { rtol: 1e-5, atol: 0, what: 'sigma at extreme raw' });
  assertClose(got.dRaw, raw.map((r) => 2 / (1 + Math.exp(-r))), { rtol: 1e-5, atol: 1e-30, what: 'dRawSigma = 2·sigmoid(raw)' });
  // Critic outputs far in both tails: softplus(±1e4) is 1e4 or 0, σ(±1e4) is 1 or 0.
  const x = mibInputs(4, 2, 60);
  x.tPos = [-1e4, 1e4, -60, 60];
  x.tNeg = [1e4, -1e4, 60, -60];
  const loss = await runMIB(be, x, 4, 2, { beta: 1 });
  for (const [k, v] of Object.entries(loss)) assert.ok(v.every(Number.isFinite), `mibLoss ${k} has a non-finite value: ${v}`);
  const want = mib.mibLoss(x, 4, 2, 1);
  assertClose(loss.stats, [want.loss, want.jsd, want.skl], { rtol: 1e-5, what: 'stats with saturated critic outputs' });
  assertClose(loss.dTPos, [-0.25, 0, -0.25, 0], { atol: 1e-7, what: 'dTPos saturated' });
  assertClose(loss.dTNeg, [0.25, 0, 0.25, 0], { atol: 1e-7, what: 'dTNeg saturated' });
});

test('mibLoss rejects one row, mismatched shapes, shared outputs and a negative beta', async () => {
  const be = await backend();
  const make = (B: number, K: number) => {
    const t = (shape: number[]) => be.zeros(shape);
    return {
      i: { mu1: t([B, K]), sigma1: t([B, K]), z1: t([B, K]), mu2: t([B, K]), sigma2: t([B, K]), z2: t([B, K]), tPos: t([B, 1]), tNeg: t([B, 1]) },
      out: { dMu1: t([B, K]), dSigma1: t([B, K]), dZ1: t([B, K]), dMu2: t([B, K]), dSigma2: t([B, K]), dZ2: t([B, K]), dTPos: t([B, 1]), dTNeg: t([B, 1]), stats: t([3]) },
    };
  };
  const one = make(1, 4);
  const two = make(2, 4);
  const all = [...Object.values(one.i), ...Object.values(one.out), ...Object.values(two.i), ...Object.values(two.out)];
  try {
    assert.throws(() => mibLoss(one.i, one.out, { beta: 1 }), errorOf(ShapeError, /mibLoss/, /B ≥ 2/, /at least 2 view pairs/));
    assert.throws(() => mibLoss({ ...two.i, z2: one.i.z1 }, two.out, { beta: 1 }), errorOf(ShapeError, /mibLoss: z2 has shape \[1, 4\], expected \[2, 4\]/));
    assert.throws(() => mibLoss(two.i, { ...two.out, dTNeg: two.out.dTPos }, { beta: 1 }), errorOf(ShapeError, /mibLoss: output/, /separate tensor/));
    assert.throws(() => mibLoss(two.i, { ...two.out, dZ1: two.i.z1 }, { beta: 1 }), errorOf(ShapeError, /mibLoss: output/));
    assert.throws(() => mibLoss(two.i, two.out, { beta: -1 }), errorOf(ConfigError, /mibLoss: beta/));
    assert.throws(
      () => gaussianReparameterize(two.i.mu1, two.i.sigma1, one.i.z1, { z: two.out.dZ1, sigma: two.out.dSigma1 }),
      errorOf(ShapeError, /gaussianReparameterize: eps has shape \[1, 4\], expected \[2, 4\]/),
    );
    assert.throws(
      () => gaussianReparameterizeBackward(two.out.dZ1, two.out.dSigma1, two.i.z1, two.i.sigma1, { dMu: two.out.dZ1, dRawSigma: two.out.dMu1 }),
      errorOf(ShapeError, /gaussianReparameterizeBackward: output/),
    );
  } finally {
    for (const t of all) t.dispose();
  }
});

test('loss ops reject bad shapes and options with the name of the problem', async () => {
  const be = await backend();
  const t4 = be.zeros([4]);
  const t3 = be.zeros([3]);
  const s2 = be.zeros([2]);
  const s4 = be.zeros([4]);
  const s7 = be.zeros([7]);
  try {
    assert.throws(() => bradleyTerryLoss(t3, be.zeros([3]), s4), (e: unknown) => e instanceof ShapeError && /2P/.test((e as Error).message));
    assert.throws(() => gae(t4, t4, t4, t3, t4, { gamma: 1, lam: 1, rows: 1 }), (e: unknown) => e instanceof ShapeError && /advantages/.test((e as Error).message));
    assert.throws(() => gae(t4, t4, t4, be.zeros([4]), be.zeros([4]), { gamma: 1.5, lam: 1, rows: 1 }), (e: unknown) => e instanceof ConfigError && /gamma/.test((e as Error).message));
    assert.throws(() => gae(t4, t4, t4, be.zeros([4]), be.zeros([4]), { gamma: 1, lam: 1, rows: 3 }), (e: unknown) => e instanceof ShapeError && /rows/.test((e as Error).message));
    assert.throws(
      () => ppoRewards({ logprobs: t4, refLogprobs: t4, mask: t4, scores: s2 }, { rewards: be.zeros([4]), kl: be.zeros([4]), stats: s4 }, { klCoef: 0.1, klEstimator: 'k2' as never }),
      (e: unknown) => e instanceof ConfigError && /klEstimator must be one of k1, k3, clamped/.test((e as Error).message),
    );
    assert.throws(
      () => ppoPolicyLoss({ logprobs: t4, oldLogprobs: t4, advantages: t4, mask: t4, entropies: t4 }, { dLogprobs: t4, stats: be.zeros([5]) }, { cliprange: 0.2 }),
      (e: unknown) => e instanceof ShapeError,
      'an output that is also an input',
    );
    assert.throws(() => dpoLoss({ logprobs: t4, refLogprobs: t4, mask: t4 }, { dLogprobs: be.zeros([4]), stats: s7 }, { beta: -1, rows: 2 }), (e: unknown) => e instanceof ConfigError && /beta/.test((e as Error).message));
    assert.throws(() => dpoLoss({ logprobs: t4, refLogprobs: t4, mask: t4 }, { dLogprobs: be.zeros([4]), stats: s7 }, { beta: 0.1, rows: 1 }), (e: unknown) => e instanceof ShapeError && /2P rows/.test((e as Error).message));
  } finally {
    for (const t of [t4, t3, s2, s4, s7]) t.dispose();
  }
});

test('softmaxCrossEntropy at a temperature: loss and gradient of −log softmax(logits / T)', async () => {
  const be = await backend();
  const V = 7;
  const r = rng(8);
  const logits = Array.from({ length: 2 * V }, () => 3 * (2 * r() - 1));
  const scale = 1 / 0.7;
  const lossOf = (row: number[], target: number) => {
    const z = row.map((x) => x * scale);
    const m = Math.max(...z);
    return m + Math.log(z.reduce((s, x) => s + Math.exp(x - m), 0)) - z[target]!;
  };
  const weights = [0.5, -2];
  const targets = [3, 6];
  const got = await run(be, { logits, targets, weights }, { losses: 2, d: 2 * V }, (t) => {
    const l = be.view(t.logits!, 0, [2, V]);
    const d = be.view(t.d!, 0, [2, V]);
    softmaxCrossEntropy(l, t.targets!, t.weights!, t.losses!, d, { scale });
  });
  const rows = [logits.slice(0, V), logits.slice(V)];
  assertClose(got.losses, rows.map((row, n) => weights[n]! * lossOf(row, targets[n]!)), { rtol: 1e-5, what: 'losses' });
  const numeric = rows.flatMap((row, n) => ref.numericGradient((x) => weights[n]! * lossOf(x, targets[n]!), row));
  assertClose(got.d, numeric, { rtol: 1e-4, atol: 1e-6, what: 'dlogits vs finite differences' });
  assert.throws(() => softmaxCrossEntropy(be.zeros([1, V]), be.zeros([1]), be.zeros([1]), be.zeros([1]), undefined, { scale: 0 }), (e: unknown) => e instanceof ConfigError && /softmaxCrossEntropy: scale/.test((e as Error).message));
});

test.run();
