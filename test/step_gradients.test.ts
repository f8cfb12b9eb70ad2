// Train-step-level gradient checks: each step's gradient with respect to every parameter
// tensor of its model(s) — read after the real step function (AdamW reads the gradients and
// leaves them), or from the gradient half it shares with its update — against central finite
// differences of a float64 composite: the GPT reference's forward and the loss's reference,
// at three seeded coordinates of each tensor. The op-level suites check each op; this checks
// the glue that joins them (which buffer goes where, which position, which sign).
import { suite } from 'uvu';
import {
  AdamW, MIBHeads, PPO_POLICY_STATS, PPO_VALUE_STATS, UMLRewardGradients, architectureOf, dpoTrainStep, gptConfig, philoxNormals, ppoMinibatchGradients, preferenceBatch, prepareBatch, responseBatch,
  rewardTrainStep, rlmecTrainStep, type EncodedPreference, type GPTConfig, type PromptResponse, type ScoredRow, type Tensor, type TokenBatch,
} from 'webrlhf';
import { gptReference, tokenLogprobsRef, type Weights } from './harness/gpt_reference.js';
import { bradleyTerryLoss, dpoLoss, ppoPolicyLoss, ppoValueLoss, rlmecLoss } from './harness/loss_reference.js';
import { mibComposite, type HeadsWeights, type MLPWeights } from './harness/mib_reference.js';
import { tinyModel, toF64 } from './harness/models.js';
import { assertClose, randomF32, rng } from './harness/reference.js';
import { legBackendInstance as backend } from './harness/runtime.js';

const test = suite('step_gradients');

const TINY: GPTConfig = gptConfig({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 });
const V = TINY.vocab_size;
const PAD = 0;

/** Two preference pairs of different lengths (left padding in the batch). */
const PAIRS: EncodedPreference[] = [
  { prompt: [3, 7], chosen: [5, 9, 2], rejected: [11, 4] },
  { prompt: [1, 12, 6], chosen: [8, 14], rejected: [13, 10, 15] },
];

/**
 * Fails unless each tensor's device gradient matches central differences of `objective` at
 * three seeded coordinates, within 1e-3 of the tensor's largest gradient (device or numeric;
 * at least 1e-3 of the largest of all tensors, for a gradient that is 0 but for rounding).
 */
function checkGradients(grads: Map<string, Float32Array>, at: Weights, objective: (w: Weights) => number, what: string, seed = 1, h = 1e-5): void {
  const r = rng(seed);
  const largest = Math.max(...[...grads.values()].flatMap((g) => Array.from(g, Math.abs)));
  for (const [name, g] of grads) {
    const x = at.get(name);
    if (!x || x.length !== g.length) throw new Error(`${what}: no reference weights for ${name}`);
    const coordinates = [...new Set(Array.from({ length: 3 }, () => Math.floor(r() * g.length)))];
    const numeric = coordinates.map((i) => {
      const shifted = (d: number) => objective(new Map(at).set(name, Float64Array.from(x, (v, j) => (j === i ? v + d : v))));
      return (shifted(h) - shifted(-h)) / (2 * h);
    });
    const scale = Math.max(...Array.from(g, Math.abs), ...numeric.map(Math.abs), 1e-3 * largest);
    assertClose(coordinates.map((i) => g[i]!), numeric, { rtol: 1e-3, atol: 1e-3 * scale, what: `${what}: ∂/∂${name} at [${coordinates.join(', ')}]` });
  }
}

/** A reference forward's per-position log-probs of a response batch's targets (0 off the mask) at a temperature. */
function responseLogprobs(logits: Float64Array, r: { responseMask: Float32Array; targets: Float32Array }, scale = 1): number[] {
  const targets = Array.from(r.targets, (t, i) => (r.responseMask[i] ? t : -1));
  return tokenLogprobsRef(logits, targets, V, scale).logprobs.map((v) => (Number.isNaN(v) ? 0 : v));
}

/** The float64 forward of a TokenBatch, prepared as the device prepares it. */
const forward64 = (w: Weights, batch: TokenBatch) => gptReference(TINY, w, prepareBatch(batch, architectureOf(TINY)));

test('the reward step: ∂L_BT (with centering) on every parameter matches the float64 composite', async () => {
  const be = await backend();
  const { model, weights } = tinyModel(be, 21, TINY);
  const optimizer = new AdamW(model, { lr: 0 });
  const o = { pad: PAD, centerCoefficient: 0.3 };
  try {
    await rewardTrainStep(model, optimizer, PAIRS, 0, o);
    const batch = preferenceBatch(PAIRS, PAD).batch;
    const objective = (w: Weights) => bradleyTerryLoss(forward64(w, batch).scores!, o.centerCoefficient).loss;
    checkGradients(await model.readGradients(), toF64(weights), objective, 'reward step');
  } finally {
    model.dispose();
    optimizer.dispose();
  }
});

test('the DPO step: ∂L_DPO on every policy parameter matches the float64 composite (the reference model frozen)', async () => {
  const be = await backend();
  const { model: policy, weights } = tinyModel(be, 22, TINY);
  const { model: reference, weights: refWeights } = tinyModel(be, 23, TINY);
  reference.freeze();
  const optimizer = new AdamW(policy, { lr: 0 });
  const beta = 0.7;
  try {
    await dpoTrainStep(policy, reference, optimizer, PAIRS, 0, { beta, pad: PAD });
    const r = preferenceBatch(PAIRS, PAD);
    const refLogprobs = responseLogprobs(forward64(toF64(refWeights), r.batch).logits, r);
    const objective = (w: Weights) => dpoLoss(responseLogprobs(forward64(w, r.batch).logits, r), refLogprobs, r.responseMask, r.B, beta).loss;
    checkGradients(await policy.readGradients(), toF64(weights), objective, 'DPO step');
  } finally {
    for (const m of [policy, reference]) m.dispose();
    optimizer.dispose();
  }
});

test('the PPO minibatch: ∂L_pg at a temperature on every policy parameter and ∂(vf_coef·L_vf) on every value-model parameter match the float64 composites', async () => {
  const be = await backend();
  const { model: policy, weights: policyWeights } = tinyModel(be, 24, TINY);
  const { model: value, weights: valueWeights } = tinyModel(be, 25, TINY);
  const hp = { temperature: 0.7, cliprange: 0.2, cliprange_value: 0.2, vf_coef: 0.4 };
  const rows: PromptResponse[] = [{ prompt: [3, 7], response: [5, 9, 2, 4] }, { prompt: [1, 12, 6], response: [8, 14] }];
  const r = responseBatch(rows, PAD);
  const M = r.B * r.T;
  const mask = r.responseMask;
  // The rollout's old log-probs and values a little off the current ones, so some ratios and values clip and some do not.
  const at = { policy: toF64(policyWeights), value: toF64(valueWeights) };
  const current = responseLogprobs(forward64(at.policy, r.batch).logits, r, 1 / hp.temperature);
  const currentValues = forward64(at.value, r.batch).values!;
  const jitter = randomF32(M, 40);
  const host = {
    mask,
    oldLogprobs: Float32Array.from(current, (v, i) => (mask[i] ? v + 0.4 * jitter[i]! : 0)),
    oldValues: Float32Array.from(currentValues, (v, i) => (mask[i] ? v - 0.4 * jitter[i]! : 0)),
    advantages: Float32Array.from(randomF32(M, 41), (v, i) => (mask[i] ? v : 0)),
    returns: Float32Array.from(randomF32(M, 42), (v, i) => (mask[i] ? v : 0)),
  };
  const mb = Object.fromEntries(Object.entries(host).map(([k, v]) => [k, be.tensor(v)])) as Record<keyof typeof host, Tensor>;
  const out = { dLogprobs: be.zeros([M]), dValues: be.zeros([M]), policyStats: be.zeros([PPO_POLICY_STATS.length]), valueStats: be.zeros([PPO_VALUE_STATS.length]) };
  try {
    ppoMinibatchGradients({ policy, value }, r.batch, mb, out, hp);
    const policyObjective = (w: Weights) => {
      const logits = forward64(w, r.batch).logits;
      const lp = responseLogprobs(logits, r, 1 / hp.temperature);
      return ppoPolicyLoss(lp, host.oldLogprobs, host.advantages, mask, lp, hp.cliprange).loss;
    };
    const valueObjective = (w: Weights) => hp.vf_coef * ppoValueLoss(forward64(w, r.batch).values!, host.oldValues, host.returns, mask, hp.cliprange_value).loss;
    checkGradients(await policy.readGradients(), at.policy, policyObjective, 'PPO policy');
    checkGradients(await value.readGradients(), at.value, valueObjective, 'PPO value model');
  } finally {
    for (const t of [...Object.values(mb), ...Object.values(out)]) t.dispose();
    for (const m of [policy, value]) m.dispose();
  }
});

test('the RLMEC step: ∂(token-reward loss + λ·imitation loss) on every policy parameter matches the float64 composite', async () => {
  const be = await backend();
  const { model: policy, weights } = tinyModel(be, 26, TINY);
  const optimizer = new AdamW(policy, { lr: 0 });
  const o = { cliprange: 0.2, imitationWeight: 0.6, pad: PAD };
  // An erroneous sample with token rewards, its rewrite with imitation weights, a correct sample with both.
  const rows = [
    { prompt: [3, 7], response: [5, 9, 2, 4], rewards: [0, -0.3, -0.5, 0], imitation: [0, 0, 0, 0] },
    { prompt: [3, 7], response: [5, 11, 2], rewards: [0, 0, 0], imitation: [0.5, 1, 0.5] },
    { prompt: [1, 12, 6], response: [8, 14], rewards: [0.4, 0.2], imitation: [0.5, 0.5] },
  ];
  const r = responseBatch(rows, PAD);
  const at = toF64(weights);
  const current = responseLogprobs(forward64(at, r.batch).logits, r);
  // π_ref's log-probs a little off the policy's, so some ratios clip and some do not.
  const jitter = randomF32(r.B * r.T, 43);
  const scored: ScoredRow[] = rows.map((row, b) => ({ ...row, refLogprobs: row.response.map((_, k) => current[b * r.T + r.starts[b]! + k]! + 0.4 * jitter[b * r.T + k]!) }));
  const dense = (f: (row: ScoredRow) => number[]) => {
    const x = new Float64Array(r.B * r.T);
    scored.forEach((row, b) => x.set(f(row), b * r.T + r.starts[b]!));
    return x;
  };
  const [rewards, imitation, ref] = [dense((s) => s.rewards), dense((s) => s.imitation), dense((s) => s.refLogprobs)];
  try {
    await rlmecTrainStep(policy, optimizer, scored, 0, o);
    const objective = (w: Weights) => rlmecLoss(responseLogprobs(forward64(w, r.batch).logits, r), ref, rewards, imitation, o.cliprange, o.imitationWeight, current).loss;
    checkGradients(await policy.readGradients(), at, objective, 'RLMEC step');
  } finally {
    policy.dispose();
    optimizer.dispose();
  }
});

/** The heads' parameters (store names) as the reference's MLP weights; the critic's split first weight joins back into one [2K, H]. */
function headsWeights(w: Weights, heads: MIBHeads): HeadsWeights {
  const mlp = (name: 'mu' | 'sigma' | 'critic'): MLPWeights => {
    const sizes = [...heads[name].sizes];
    const get = (key: string) => w.get(`${name}.${key}`) ?? Float64Array.from([...w.get(`${name}.${key}.0`)!, ...w.get(`${name}.${key}.1`)!]);
    return { sizes, W: sizes.slice(1).map((_, l) => get(`${l}.weight`)), b: sizes.slice(1).map((_, l) => get(`${l}.bias`)) };
  };
  return { mu: mlp('mu'), sigma: mlp('sigma'), critic: mlp('critic') };
}

test('the RLP-UML step: ∂(L_BT + λ·L_M) through both views\' last hidden states on every reward-model and head parameter matches the float64 composite', async () => {
  const be = await backend();
  const { model, weights } = tinyModel(be, 27, TINY);
  const heads = new MIBHeads(be, { n_embd: TINY.n_embd, mib_latent: 3, mib_hidden: 5, seed: 9 });
  const reward = { pad: PAD, centerCoefficient: 0 };
  const o = { beta: 0.8, lambda: 2, seed: 5, step: 3 };
  const views: EncodedPreference[] = [
    { prompt: [2, 9], chosen: [4, 4, 7], rejected: [4, 15] },
    { prompt: [6], chosen: [10, 3], rejected: [12, 3, 1] },
    { prompt: [14, 5, 8], chosen: [9], rejected: [11, 2] },
  ];
  const gradients = new UMLRewardGradients(model, heads, reward);
  try {
    gradients.run(PAIRS, views, o).dispose();
    const B = views.length;
    const K = heads.latent;
    const eps = philoxNormals(2 * B * K, { seed: o.seed, stream: 0, offset: o.step });
    const pairBatch = preferenceBatch(PAIRS, PAD).batch;
    const viewBatch = prepareBatch(preferenceBatch(views, PAD).batch, architectureOf(TINY));
    const C = TINY.n_embd;
    const rowsOf = (hidden: Float64Array, from: number) => Float64Array.from({ length: B * C }, (_, i) => hidden[viewBatch.lastRows[from + Math.floor(i / C)]! * C + (i % C)]!);
    // One map of both parameter sets: the reward model's names and the heads' (mu., sigma., critic.) do not meet.
    const at: Weights = new Map([...toF64(weights), ...toF64(await heads.store.readParameters())]);
    const objective = (w: Weights) => {
      const bt = bradleyTerryLoss(forward64(w, pairBatch).scores!, reward.centerCoefficient).loss;
      const hidden = gptReference(TINY, w, viewBatch).hidden;
      return bt + mibComposite(headsWeights(w, heads), rowsOf(hidden, 0), rowsOf(hidden, B), eps.subarray(0, B * K), eps.subarray(B * K), B, { beta: o.beta, weight: o.lambda }).value;
    };
    checkGradients(await model.readGradients(), at, objective, 'UML reward model');
    checkGradients(await heads.store.readGradients(), at, objective, 'UML heads', 2);
  } finally {
    gradients.dispose();
    heads.dispose();
    model.dispose();
  }
});

test.run();
