// grpoLoss, GRPO's and RLOO's policy loss (src/ops/grpo_loss.ts), on the leg's backend:
// hand-computed golden values for each normalisation, clip bound, delta cap, importance level
// and the KL term; agreement with the float64 reference (test/harness/grpo_reference.ts) on
// random padded batches; gradients against central finite differences of that reference.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, GRPO_STATS, ShapeError, grpoLoss, type Backend, type GRPOLossOptions, type Tensor } from 'webrlhf';
import * as grpo from './harness/grpo_reference.js';
import { numericGradient } from './harness/loss_reference.js';
import { errorOf } from './harness/rejects.js';
import { assertClose, rng } from './harness/reference.js';
import { legBackendInstance as backend } from './harness/runtime.js';

const test = suite('grpo loss');

type Inputs = Record<Exclude<keyof grpo.GRPOInputs, 'tokenAdvantages'>, number[]> & { tokenAdvantages?: number[] };

const OPTIONS: GRPOLossOptions = {
  lossType: 'grpo', importanceSamplingLevel: 'token', epsilonLow: 0.2, epsilonHigh: 0.28, delta: null, beta: 0,
  maxCompletionLength: 4, tokensInBatch: 20, accumulationSteps: 1,
};

/**
 * Runs grpoLoss on host arrays and reads dLogprobs and stats back. `alias` binds oldLogprobs
 * and/or refLogprobs to the logprobs tensor itself, as the trainer does (μ = 1, β = 0).
 */
async function runGRPO(be: Backend, x: Inputs, o: Partial<GRPOLossOptions>, alias: { old?: boolean; ref?: boolean } = {}) {
  const made: Tensor[] = [];
  const upload = (v: number[]) => {
    const t = be.tensor(Float32Array.from(v), [v.length]);
    made.push(t);
    return t;
  };
  try {
    const logprobs = upload(x.logprobs);
    const i = {
      logprobs,
      oldLogprobs: alias.old ? logprobs : upload(x.oldLogprobs),
      refLogprobs: alias.ref ? logprobs : upload(x.refLogprobs),
      rowAdvantages: upload(x.rowAdvantages),
      ...(x.tokenAdvantages?.length ? { tokenAdvantages: upload(x.tokenAdvantages) } : {}),
      mask: upload(x.mask),
      entropies: upload(x.entropies),
    };
    const out = { dLogprobs: be.zeros([x.logprobs.length]), stats: be.zeros([GRPO_STATS.length]) };
    made.push(out.dLogprobs, out.stats);
    grpoLoss(i, out, { ...OPTIONS, ...o });
    const d = Array.from(await be.read(out.dLogprobs));
    const stats = Array.from(await be.read(out.stats));
    // Padding may hold NaN; none of it reaches the outputs, and the gradient is exactly 0 there.
    assert.ok(stats.every(Number.isFinite), `stats ${stats}`);
    assert.ok(d.every((v, k) => (x.mask[k] ? Number.isFinite(v) : v === 0)), `dLogprobs off the mask or not finite: ${d}`);
    return { d, stats };
  } finally {
    for (const t of made) t.dispose();
  }
}

/** Per-token values from rows of the masked tokens' values: NaN off the mask. */
function tokens(mask: number[], rows: number[][], T: number): number[] {
  const out = mask.map(() => NaN);
  rows.forEach((vals, r) => {
    let j = 0;
    for (let t = 0; t < T; t++) if (mask[r * T + t]) out[r * T + t] = vals[j++]!;
  });
  return out;
}

const { exp, log } = Math;
const stats = (s: Partial<Record<(typeof GRPO_STATS)[number], number>>) => GRPO_STATS.map((name) => s[name] ?? 0);

test('the four GRPO normalisations on rows of 1, 2 and 4 tokens, divided by accumulationSteps but dapo; ρ = 1 ties give −A·W', async () => {
  const be = await backend();
  // R = 3, T = 4; n = (1, 2, 4), N = 7. μ = 1: oldLogprobs is logprobs itself, so ρ = 1 exactly,
  // c1·A = c2·A (min's tie: half to each side, both pass ρ) and ∂pg/∂lp = −A; β = 0 with
  // refLogprobs = logprobs. A = (1, −0.5, 0.25) per row, so ℓ = −A: Σℓ = −1 + 1 − 1 = −1.
  //   grpo    (1/3)(−1/1 + 1/2 − 1/4) = −0.25, W = 1/(3·n_r)
  //   bnpo    −1/7,                     W = 1/7
  //   dr_grpo −1/(3·4) = −1/12,         W = 1/12 (maxCompletionLength 4)
  //   dapo    −1/20,                    W = 1/20 (tokensInBatch 20)
  // each / GA, but dapo's. dLogprobs = −A·W.
  const T = 4;
  const mask = [0, 1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1];
  const x: Inputs = {
    logprobs: tokens(mask, [[-1.1], [-0.3, -2], [-0.5, -0.9, -1.7, -0.01]], T),
    oldLogprobs: [], refLogprobs: [],
    rowAdvantages: [1, -0.5, 0.25],
    tokenAdvantages: tokens(mask, [[0], [0, 0], [0, 0, 0, 0]], T),
    mask,
    entropies: tokens(mask, [[0.7], [1, 2], [0.5, 0.5, 1, 1]], T),
  };
  const minusA = mask.map((_, k) => -x.rowAdvantages[Math.floor(k / T)]!);
  const n = mask.map((_, k) => [1, 2, 4][Math.floor(k / T)]!);
  const cases = { grpo: [-0.25, (k: number) => 1 / (3 * n[k]!)], bnpo: [-1 / 7, () => 1 / 7], dr_grpo: [-1 / 12, () => 1 / 12], dapo: [-1 / 20, () => 1 / 20] } as const;
  for (const GA of [1, 4]) {
    for (const [lossType, [loss, W]] of Object.entries(cases) as [keyof typeof cases, (typeof cases)[keyof typeof cases]][]) {
      const scale = lossType === 'dapo' ? 1 : 1 / GA;
      const got = await runGRPO(be, x, { lossType, accumulationSteps: GA }, { old: true, ref: true });
      assertClose(got.stats, stats({ loss: loss * scale, entropy: 6.7 / 7 }), { atol: 1e-6, what: `${lossType} GA=${GA} stats` });
      assertClose(got.d, minusA.map((a, k) => (mask[k] ? a * W(k) * scale : 0)), { rtol: 1e-6, atol: 0, what: `${lossType} GA=${GA} dLogprobs = −A·W` });
    }
  }
});

test('clip-higher: 1.25 is inside 1 + ε_high = 1.28 and 1.3 is not; 0.75 for A < 0 clips at 0.8 with gradient 0; clip ratios per token and per row', async () => {
  const be = await backend();
  // ε_low 0.2, ε_high 0.28, bnpo. Row 0 (5 tokens): ρ = (1.25, 1.3, 0.75, 0.75, 1.3),
  // A = 1 + (0, 0, −2, 0, −2) = (1, 1, −1, 1, −1):
  //   1.25, A 1:  c2 = 1.25 (inside), a tie: pg −1.25, ∂pg/∂lp = −Aρ = −1.25
  //   1.3,  A 1:  c2 = 1.28 < 1.3: pg −1.28, the clamp passes nothing: 0; high-clipped
  //   0.75, A −1: c2 = 0.8, −0.8 < −0.75: pg 0.8, gradient 0; low-clipped
  //   0.75, A 1:  0.75 < 0.8: the unclipped side, pg −0.75, gradient −0.75
  //   1.3,  A −1: −1.3 < −1.28: unclipped, pg 1.3, gradient 1.3
  // Row 1 (2 tokens): ρ = (0.5, 1.5), A = 0 + (−1, 1): pg 0.8 (low), −1.28 (high), gradients 0.
  // Row 2: no tokens (A 5). N = 7: L = (−1.18 − 0.48)/7 = −1.66/7; dLogprobs = row 0's /7.
  // Clip means 2/7, 2/7, 4/7; rows' fractions low (0.2, 0.5), high (0.2, 0.5): the empty row is
  // not a row of the min (it would make it 0): low_min 0.2, high_max 0.5.
  const T = 5;
  const mask = [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0];
  const ratios = [1.25, 1.3, 0.75, 0.75, 1.3, 0.5, 1.5];
  const old = tokens(mask, [[-1, -1, -1, -1, -1], [-2, -2]], T);
  const masked = (v: number[]) => tokens(mask, [v.slice(0, 5), v.slice(5)], T);
  const x: Inputs = {
    logprobs: masked(ratios.map((r, j) => (j < 5 ? -1 : -2) + log(r))),
    oldLogprobs: old,
    refLogprobs: mask.map(() => NaN),
    rowAdvantages: [1, 0, 5],
    tokenAdvantages: masked([0, 0, -2, 0, -2, -1, 1]),
    mask,
    entropies: masked([1, 1, 1, 1, 1, 1, 1]),
  };
  const got = await runGRPO(be, x, { lossType: 'bnpo' });
  assertClose(got.stats, stats({ loss: -1.66 / 7, entropy: 1, 'clip_ratio/low_mean': 2 / 7, 'clip_ratio/high_mean': 2 / 7, 'clip_ratio/region_mean': 4 / 7, 'clip_ratio/low_min': 0.2, 'clip_ratio/high_max': 0.5 }), { atol: 2e-6, what: 'stats' });
  assertClose(got.d, [-1.25, 0, 0, -0.75, 1.3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0].map((g) => g / 7), { atol: 1e-6, what: 'dLogprobs' });
  assert.ok(got.d[1] === 0 && got.d[2] === 0 && got.d[5] === 0 && got.d[6] === 0, 'clipped tokens get exactly 0');
  // The same batch with the symmetric ε 0.2 clips 1.25 too (1.25 > 1.2): its gradient is 0.
  const symmetric = await runGRPO(be, x, { lossType: 'bnpo', epsilonHigh: 0.2 });
  assert.is(symmetric.d[0], 0);
});

test('delta caps the unclipped ratio (INTELLECT-2): a capped ratio has gradient 0, one below the cap keeps −Aρ', async () => {
  const be = await backend();
  // One row, grpo, ρ = (5, 3, 5), A = (−1, −1, 1), ε 0.2 / 0.28 (c2 = 1.28 for all three).
  //   δ = 4:  ρ 5, A −1: c1 = 4, −4 < −1.28: pg 4, the cap passes nothing: 0
  //           ρ 3, A −1: c1 = 3: pg 3, gradient −Aρ = 3
  //           ρ 5, A 1:  1.28 < 4: pg −1.28, 0 (high-clipped: c1 = 4 > 1.28)
  //   L = (4 + 3 − 1.28)/3 = 5.72/3, dLogprobs = (0, 3, 0)/3.
  //   null:   pg (5, 3, −1.28): L = 6.72/3, dLogprobs = (5, 3, 0)/3.
  const mask = [1, 1, 1];
  const x: Inputs = {
    logprobs: [log(5), log(3), log(5)], oldLogprobs: [0, 0, 0], refLogprobs: [NaN, NaN, NaN],
    rowAdvantages: [0], tokenAdvantages: [-1, -1, 1], mask, entropies: [0, 0, 0],
  };
  const capped = await runGRPO(be, x, { delta: 4, maxCompletionLength: 3 });
  assertClose(capped.stats, stats({ loss: 5.72 / 3, 'clip_ratio/high_mean': 1 / 3, 'clip_ratio/region_mean': 1 / 3, 'clip_ratio/high_max': 1 / 3 }), { atol: 2e-6, what: 'δ = 4 stats' });
  assertClose(capped.d, [0, 1, 0], { atol: 1e-6, what: 'δ = 4 dLogprobs' });
  const free = await runGRPO(be, x, { delta: null });
  assertClose(free.stats, stats({ loss: 6.72 / 3, 'clip_ratio/high_mean': 1 / 3, 'clip_ratio/region_mean': 1 / 3, 'clip_ratio/high_max': 1 / 3 }), { atol: 2e-6, what: 'no δ stats' });
  assertClose(free.d, [5 / 3, 1, 0], { atol: 1e-6, what: 'no δ dLogprobs' });
});

test('sequence-level importance sampling: one ratio per row, its gradient shared by the row; clip ratios per row', async () => {
  const be = await backend();
  // R = 3, T = 3, grpo. Row 0: log-ratios (0.05, 0.15) → logw = 0.1, ρ = e^0.1 = 1.1052 (inside),
  // A = 1: pg −ρ per token, row loss −ρ; ∂L/∂logw = (1/3)·(1/2)·2·(−ρ) and ∂logw/∂lp = 1/2,
  // so dLogprobs = −e^0.1/6 on both tokens. Row 1: (0.5, 0.5) → ρ = e^0.5 > 1.28, A = 1: pg
  // −1.28, gradient 0, high-clipped. Row 2: empty (A −2, ρ = 1: no clip), a row of the means.
  // L = (−e^0.1 − 1.28 + 0)/3; high_mean = region_mean = 1/3, high_max 1.
  // Per token instead, row 0's tokens have their own ratios e^0.05 and e^0.15 (both inside).
  const T = 3;
  const mask = [1, 1, 0, 0, 1, 1, 0, 0, 0];
  const x: Inputs = {
    logprobs: [-1 + 0.05, -2 + 0.15, NaN, NaN, -1 + 0.5, -1 + 0.5, NaN, NaN, NaN],
    oldLogprobs: [-1, -2, NaN, NaN, -1, -1, NaN, NaN, NaN],
    refLogprobs: mask.map(() => NaN),
    rowAdvantages: [1, 1, -2], mask, entropies: [1, 2, NaN, NaN, 3, 4, NaN, NaN, NaN],
  };
  const seq = await runGRPO(be, x, { importanceSamplingLevel: 'sequence' });
  assertClose(seq.stats, stats({ loss: (-exp(0.1) - 1.28) / 3, entropy: 2.5, 'clip_ratio/high_mean': 1 / 3, 'clip_ratio/region_mean': 1 / 3, 'clip_ratio/high_max': 1 }), { atol: 2e-6, what: 'sequence stats' });
  assertClose(seq.d, [-exp(0.1) / 6, -exp(0.1) / 6, 0, 0, 0, 0, 0, 0, 0], { atol: 1e-6, what: 'sequence dLogprobs' });
  // With (zero) per-token advantages TRL's indicators are (B, T): 2 of 4 tokens clipped high.
  const perTokenA = await runGRPO(be, { ...x, tokenAdvantages: [0, 0, NaN, NaN, 0, 0, NaN, NaN, NaN] }, { importanceSamplingLevel: 'sequence' });
  assertClose(perTokenA.stats, stats({ loss: (-exp(0.1) - 1.28) / 3, entropy: 2.5, 'clip_ratio/high_mean': 0.5, 'clip_ratio/region_mean': 0.5, 'clip_ratio/high_max': 1 }), { atol: 2e-6, what: 'sequence stats with token advantages' });
  assertClose(perTokenA.d, seq.d, { atol: 1e-7, what: 'the same gradient' });
  // Per token: row 0 (1/3)·((−e^0.05 − e^0.15)/2), row 1 −1.28/3; 2 of 4 tokens high-clipped, row 1's fraction 1.
  const tok = await runGRPO(be, x, { importanceSamplingLevel: 'token' });
  assertClose(tok.stats, stats({ loss: ((-exp(0.05) - exp(0.15)) / 2 - 1.28) / 3, entropy: 2.5, 'clip_ratio/high_mean': 0.5, 'clip_ratio/region_mean': 0.5, 'clip_ratio/high_max': 1 }), { atol: 2e-6, what: 'token stats' });
  assertClose(tok.d, [-exp(0.05) / 6, -exp(0.15) / 6, 0, 0, 0, 0, 0, 0, 0], { atol: 1e-6, what: 'token dLogprobs' });
});

test('RLOO: one ratio per row of the summed log-ratio, one pg per row (an empty row too), tokenAdvantages and refLogprobs unread', async () => {
  const be = await backend();
  // R = 3, T = 3, GA = 2. Row 0: log-ratios (0.1, 0.05) → logw = 0.15, ρ = e^0.15 = 1.16183
  // (inside), A = 2: pg −2ρ, ∂pg/∂logw = −2ρ, ∂logw/∂lp = 1. Row 1: (0.2, 0.2, 0.1) → logw 0.5,
  // ρ 1.6487 > 1.28, A 1: pg −1.28, gradient 0, high-clipped. Row 2: empty, ρ = 1, A −0.5: pg 0.5.
  // L = (−2e^0.15 − 1.28 + 0.5)/(3·2) = −0.5172781; dLogprobs on row 0 = −2e^0.15/6 = −0.3872781.
  const T = 3;
  const mask = [1, 1, 0, 1, 1, 1, 0, 0, 0];
  const x: Inputs = {
    logprobs: [-1 + 0.1, -1 + 0.05, NaN, -3 + 0.2, -3 + 0.2, -3 + 0.1, NaN, NaN, NaN],
    oldLogprobs: [-1, -1, NaN, -3, -3, -3, NaN, NaN, NaN],
    refLogprobs: mask.map(() => NaN),
    rowAdvantages: [2, 1, -0.5], mask, entropies: [1, 1, NaN, 2, 2, 2, NaN, NaN, NaN],
  };
  const got = await runGRPO(be, x, { lossType: 'rloo', importanceSamplingLevel: 'sequence_sum', accumulationSteps: 2 });
  assertClose(got.stats, stats({ loss: (-2 * exp(0.15) - 0.78) / 6, entropy: 8 / 5, 'clip_ratio/high_mean': 1 / 3, 'clip_ratio/region_mean': 1 / 3, 'clip_ratio/high_max': 1 }), { atol: 2e-6, what: 'stats' });
  assertClose([got.stats[0]!], [-0.5172781], { atol: 1e-6, what: 'the loss by hand' });
  const g = (-2 * exp(0.15)) / 6;
  assertClose(got.d, [g, g, 0, 0, 0, 0, 0, 0, 0], { atol: 1e-6, what: 'dLogprobs' });
});

test('β > 0: the k3 KL value, its stat and its gradient β(1 − e^(ref − lp)), and with klCorrection (k3·ρ) its extra β·k3; β = 0 reads no refLogprobs', async () => {
  const be = await backend();
  // One row of 2 tokens, bnpo, μ = 1 (old aliased: ρ = 1, pg = −A = −1). ref − lp = (−0.5, 0.5):
  // k3 = (e^−0.5 + 0.5 − 1, e^0.5 − 0.5 − 1) = (0.10653066, 0.14872127), β = 0.04:
  // L = (−2 + 0.04·0.25525193)/2 = −0.99489496, kl = 0.12762597,
  // dLogprobs = (−1 + 0.04(1 − e^∓0.5))/2 = (−0.49213061, −0.51297443).
  const x: Inputs = {
    logprobs: [-1, -2, NaN], oldLogprobs: [], refLogprobs: [-1.5, -1.5, NaN],
    rowAdvantages: [1], tokenAdvantages: [0, 0, NaN], mask: [1, 1, 0], entropies: [0.5, 0.5, NaN],
  };
  const got = await runGRPO(be, x, { lossType: 'bnpo', beta: 0.04 }, { old: true });
  assertClose(got.stats, stats({ loss: -0.99489496, kl: 0.12762597, entropy: 0.5 }), { atol: 1e-6, what: 'stats' });
  assertClose(got.d, [-0.49213061, -0.51297443, 0], { atol: 1e-7, what: 'dLogprobs' });
  // TRL's use_bias_correction_kl: β·k3·ρ. At ρ = 1 the value is the same, but ρ's gradient adds
  // β·k3: per token (−1 + β((1 − e^x) + (e^x − x − 1)))/2 = (−1 − β·x)/2 = (−0.49, −0.51).
  const corrected = await runGRPO(be, x, { lossType: 'bnpo', beta: 0.04, klCorrection: true }, { old: true });
  assertClose(corrected.stats, stats({ loss: -0.99489496, kl: 0.12762597, entropy: 0.5 }), { atol: 1e-6, what: 'klCorrection stats' });
  assertClose(corrected.d, [-0.49, -0.51, 0], { atol: 1e-7, what: 'klCorrection dLogprobs' });
  // β = 0: refLogprobs all NaN changes nothing.
  const none = await runGRPO(be, { ...x, refLogprobs: [NaN, NaN, NaN] }, { lossType: 'bnpo', beta: 0 }, { old: true });
  assertClose(none.stats, stats({ loss: -1, entropy: 0.5 }), { atol: 1e-6, what: 'β = 0 stats' });
  assertClose(none.d, [-0.5, -0.5, 0], { atol: 1e-7, what: 'β = 0 dLogprobs' });
});

test('a zero-advantage row has zero gradient at both levels, clipped or not', async () => {
  const be = await backend();
  // Row 0: A = 0 with ρ = (1.5, 0.7, 1.1): pg = 0 and ∂pg/∂logw = −0·(…) = 0. Row 1: A = 1, ρ = 1.1.
  const x: Inputs = {
    logprobs: [log(1.5), log(0.7), log(1.1), log(1.1), NaN, NaN], oldLogprobs: [0, 0, 0, 0, NaN, NaN], refLogprobs: [0, 0, 0, 0, NaN, NaN],
    rowAdvantages: [0, 1], tokenAdvantages: [0, 0, 0, 0, NaN, NaN], mask: [1, 1, 1, 1, 0, 0], entropies: [0, 0, 0, 0, NaN, NaN],
  };
  for (const importanceSamplingLevel of ['token', 'sequence'] as const) {
    const got = await runGRPO(be, x, { importanceSamplingLevel });
    assert.ok(got.d.slice(0, 3).every((v) => v === 0), `${importanceSamplingLevel}: ${got.d}`);
    assertClose([got.d[3]!], [-1.1 / 2], { atol: 1e-6, what: `${importanceSamplingLevel}: row 1` });
  }
});

// ---- random batches against the float64 reference --------------------------------------

const BOUNDS = (o: GRPOLossOptions) => [1 - o.epsilonLow, 1 + o.epsilonHigh, ...(o.delta === null ? [] : [o.delta])];

/**
 * R rows of T tokens: padding on both sides (row 2 empty), log-ratios that clip some tokens or
 * rows both ways, and every ratio (per token, or per row at sequence levels) at least 0.01
 * from a clip bound or δ, so finite differences see a smooth loss. Values are f32, so the
 * reference sees what the device does; `padded` puts NaN off the mask.
 */
function randomBatch(R: number, T: number, seed: number, o: GRPOLossOptions, withTokens: boolean) {
  const r = rng(seed);
  const u = (lo: number, hi: number) => lo + (hi - lo) * r();
  const mask: number[] = [];
  for (let row = 0; row < R; row++) {
    const start = Math.floor(r() * (T / 2));
    const length = row === 2 ? 0 : 1 + Math.floor(r() * (T - start - 1));
    for (let t = 0; t < T; t++) mask.push(Number(t >= start && t < start + length));
  }
  const old = mask.map(() => u(-3, -0.5));
  const logRatio = mask.map(() => 0);
  const near = (logw: number) => BOUNDS(o).some((b) => Math.abs(exp(logw) - b) < 0.01);
  for (let row = 0; row < R; row++) {
    const ks = Array.from({ length: T }, (_, t) => row * T + t).filter((k) => mask[k]);
    const shift = u(-0.45, 0.45);
    for (const k of ks) logRatio[k] = o.importanceSamplingLevel === 'token' ? u(-0.45, 0.45) : (shift + u(-0.15, 0.15)) / (o.importanceSamplingLevel === 'sequence_sum' ? ks.length : 1);
    if (o.importanceSamplingLevel === 'token') {
      for (const k of ks) while (near(logRatio[k]!)) logRatio[k]! += 0.013;
    } else {
      const logw = () => ks.reduce((s, k) => s + logRatio[k]!, 0) / (o.importanceSamplingLevel === 'sequence' ? ks.length : 1);
      while (ks.length && near(logw())) for (const k of ks) logRatio[k]! += 0.013 / (o.importanceSamplingLevel === 'sequence' ? 1 : ks.length);
    }
  }
  const f32 = (v: number[]) => Array.from(Float32Array.from(v));
  const logprobs = f32(old.map((v, k) => v + logRatio[k]!));
  const x: Inputs = {
    logprobs,
    oldLogprobs: f32(old),
    refLogprobs: f32(logprobs.map((v) => v + u(-0.3, 0.3))),
    rowAdvantages: f32(Array.from({ length: R }, () => u(-1.5, 1.5))),
    ...(withTokens ? { tokenAdvantages: f32(mask.map(() => u(-0.5, 0.5))) } : {}),
    mask,
    entropies: f32(mask.map(() => u(1, 3))),
  };
  const padded = { ...x } as Inputs;
  for (const key of ['logprobs', 'oldLogprobs', 'refLogprobs', 'entropies'] as const) padded[key] = x[key].map((v, k) => (mask[k] ? v : NaN));
  if (x.tokenAdvantages) padded.tokenAdvantages = x.tokenAdvantages.map((v, k) => (mask[k] ? v : NaN));
  return { x, padded, N: mask.reduce((a, b) => a + b, 0) };
}

/** Every loss type at both levels (RLOO at sequence_sum), β 0 and 0.04, δ and accumulation steps varied. */
function configs(T: number): GRPOLossOptions[] {
  const out: GRPOLossOptions[] = [];
  for (const importanceSamplingLevel of ['token', 'sequence'] as const) {
    for (const lossType of ['grpo', 'bnpo', 'dr_grpo', 'dapo'] as const) {
      for (const beta of [0, 0.04]) {
        out.push({ ...OPTIONS, lossType, importanceSamplingLevel, beta, delta: out.length % 3 === 1 ? 1.4 : null, accumulationSteps: 1 + (out.length % 2), maxCompletionLength: T + 5, klCorrection: beta > 0 && out.length % 4 === 1 });
      }
    }
  }
  out.push({ ...OPTIONS, lossType: 'rloo', importanceSamplingLevel: 'sequence_sum', accumulationSteps: 2 });
  out.push({ ...OPTIONS, lossType: 'rloo', importanceSamplingLevel: 'sequence_sum', delta: 1.4 });
  return out;
}

const label = (o: GRPOLossOptions) => `${o.lossType}/${o.importanceSamplingLevel} β=${o.beta}${o.klCorrection ? '·ρ' : ''} δ=${o.delta} GA=${o.accumulationSteps}`;

test('agrees with the float64 reference on a padded batch of more rows than the kernel has invocations', async () => {
  const be = await backend();
  const [R, T] = [70, 13];
  for (const [c, o] of configs(T).entries()) {
    const b = randomBatch(R, T, 100 + c, o, o.lossType !== 'rloo' && c % 3 !== 2);
    const got = await runGRPO(be, b.padded, { ...o, tokensInBatch: 3 * b.N });
    const want = grpo.grpoLoss(b.x, { ...o, tokensInBatch: 3 * b.N });
    assertClose(got.stats, want.stats, { rtol: 1e-5, atol: 1e-6, what: `${label(o)} stats` });
    assertClose(got.d, want.dLogprobs, { rtol: 1e-5, atol: 1e-8, what: `${label(o)} dLogprobs` });
  }
});

test('dLogprobs matches central finite differences of the float64 loss', async () => {
  const be = await backend();
  const [R, T] = [5, 7];
  for (const [c, o] of configs(T).entries()) {
    const b = randomBatch(R, T, 200 + c, o, o.lossType !== 'rloo' && c % 3 !== 1);
    const opts = { ...o, tokensInBatch: 2 * b.N };
    const numeric = numericGradient((lp) => grpo.grpoLoss({ ...b.x, logprobs: lp }, opts).loss, b.x.logprobs).map((g, k) => (b.x.mask[k] ? g : 0));
    assertClose(grpo.grpoLoss(b.x, opts).dLogprobs, numeric, { rtol: 1e-5, atol: 1e-8, what: `${label(o)}: the reference's own gradient` });
    const got = await runGRPO(be, b.padded, opts);
    assertClose(got.d, numeric, { rtol: 1e-4, atol: 1e-7, what: `${label(o)}: dLogprobs vs finite differences` });
  }
});

test('rejects sizes that do not fit and options that do not exist, naming them', async () => {
  const be = await backend();
  const t6 = () => be.zeros([6]);
  const made: Tensor[] = [];
  const keep = <X extends Tensor>(t: X) => (made.push(t), t);
  try {
    const i = { logprobs: keep(t6()), oldLogprobs: keep(t6()), refLogprobs: keep(t6()), rowAdvantages: keep(be.zeros([2])), tokenAdvantages: keep(t6()), mask: keep(t6()), entropies: keep(t6()) };
    const out = { dLogprobs: keep(t6()), stats: keep(be.zeros([GRPO_STATS.length])) };
    grpoLoss(i, out, OPTIONS); // fits
    const rows4 = keep(be.zeros([4]));
    assert.throws(() => grpoLoss({ ...i, rowAdvantages: rows4 }, out, OPTIONS), errorOf(ShapeError, /grpoLoss/, /6 tokens do not split into 4 rows/));
    const t5 = keep(be.zeros([5]));
    assert.throws(() => grpoLoss({ ...i, mask: t5 }, out, OPTIONS), errorOf(ShapeError, /grpoLoss: mask has 5 elements/));
    assert.throws(() => grpoLoss(i, { ...out, dLogprobs: t5 }, OPTIONS), errorOf(ShapeError, /grpoLoss: dLogprobs/));
    assert.throws(() => grpoLoss(i, { ...out, stats: t5 }, OPTIONS), errorOf(ShapeError, /grpoLoss: stats has 5 elements/, /expected 8/));
    assert.throws(() => grpoLoss(i, { ...out, dLogprobs: i.logprobs }, OPTIONS), errorOf(ShapeError, /grpoLoss: output/, /separate tensor/));
    const bad = (o: Partial<GRPOLossOptions>, ...patterns: RegExp[]) => assert.throws(() => grpoLoss(i, out, { ...OPTIONS, ...o }), errorOf(ConfigError, /grpoLoss/, ...patterns));
    bad({ lossType: 'ppo' as never }, /lossType must be one of grpo, bnpo, dr_grpo, dapo, rloo, got "ppo"/);
    bad({ importanceSamplingLevel: 'row' as never }, /importanceSamplingLevel must be one of token, sequence, sequence_sum/);
    bad({ lossType: 'rloo' }, /lossType 'rloo' takes importanceSamplingLevel 'sequence_sum'/);
    bad({ importanceSamplingLevel: 'sequence_sum' }, /importanceSamplingLevel 'sequence_sum' is RLOO's/);
    bad({ lossType: 'rloo', importanceSamplingLevel: 'sequence_sum', beta: 0.04 }, /'rloo' takes beta 0/);
    bad({ lossType: 'rloo', importanceSamplingLevel: 'sequence_sum' }, /'rloo' takes one advantage per row; leave tokenAdvantages out/);
    bad({ epsilonLow: -0.1 }, /epsilonLow/);
    bad({ epsilonHigh: NaN }, /epsilonHigh/);
    bad({ beta: -1 }, /beta/);
    bad({ delta: 0 }, /delta must be > 0/);
    bad({ delta: Infinity }, /delta/);
    bad({ accumulationSteps: 0 }, /accumulationSteps/);
    bad({ maxCompletionLength: 0 }, /maxCompletionLength/);
    bad({ tokensInBatch: -1 }, /tokensInBatch/);
  } finally {
    for (const t of made) t.dispose();
  }
});

test.run();
