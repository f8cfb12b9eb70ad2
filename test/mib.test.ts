// RLP-UML's multi-view information bottleneck above the loss ops (those are in losses.test.ts):
// the MLP against its float64 reference and finite differences, AdamW training an MLP,
// MIBHeads.step against finite differences of the float64 composite (heads, reparameterisation,
// critic and loss with the same noise), the GPT's lastHidden hook, mibBeta and philoxNormals.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AdamW, ConfigError, CausalLM, MIBHeads, MIB_BETA_START, MLP, ShapeError, TensorStateError, add, gptConfig, mibBeta, philoxNormals, scale, type Backend, type Tensor } from 'webrlhf';
import { numericGrad } from './harness/layer_reference.js';
import * as mib from './harness/mib_reference.js';
import { tinyModel } from './harness/models.js';
import { errorOf } from './harness/rejects.js';
import { assertClose, randomF32 } from './harness/reference.js';
import { legBackendInstance as backend } from './harness/runtime.js';

const test = suite('mib');

type Layers = { W: Float32Array[]; b: Float32Array[] };

const toRef = (sizes: readonly number[], w: Layers): mib.MLPWeights => ({ sizes: [...sizes], W: w.W.map((x) => Float64Array.from(x)), b: w.b.map((x) => Float64Array.from(x)) });

/** Every parameter of an MLP reference as one flat vector, and back (for finite differences). */
function flatten(w: mib.MLPWeights): Float64Array {
  return Float64Array.from([...w.W, ...w.b].flatMap((x) => Array.from(x)));
}
function unflatten(like: mib.MLPWeights, v: ArrayLike<number>): mib.MLPWeights {
  let o = 0;
  const take = (x: Float64Array) => {
    const out = Float64Array.from({ length: x.length }, (_, i) => v[o + i]!);
    o += x.length;
    return out;
  };
  const W = like.W.map(take);
  const b = like.b.map(take);
  return { sizes: like.sizes, W, b };
}
const flatLayers = (w: Layers) => [...w.W, ...w.b].flatMap((x) => Array.from(x));

/** Tolerance scaled to the largest expected value: f32 device math against f64 differences. */
function closeToScale(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rel = 2e-4): void {
  const scale = Math.max(...Array.from(expected, Math.abs), 1e-3);
  assertClose(actual, expected, { rtol: 1e-3, atol: rel * scale, what });
}

test('MLP forward and backward match the float64 reference and its finite differences (split first layer)', async () => {
  const be = await backend();
  const sizes = [5, 7, 6, 3];
  const N = 4;
  const mlp = MLP.create(be, { sizes, inputs: [2, 3] }, { seed: 3 });
  const x0 = randomF32(N * 2, 1);
  const x1 = randomF32(N * 3, 2);
  const dOut = randomF32(N * 3, 4);
  const t = [be.tensor(x0, [N, 2]), be.tensor(x1, [N, 3]), be.tensor(dOut, [N, 3]), be.zeros([N, 2]), be.zeros([N, 3])] as const;
  const [tx0, tx1, tdOut, dx0, dx1] = t;
  try {
    const y = mlp.forward([tx0, tx1]);
    mlp.zeroGrad();
    mlp.backward(tdOut, { dX: [dx0, dx1] });
    const w = toRef(sizes, await mlp.readWeights());
    const rows = mib.concatColumns(x0, 2, x1, 3, N);
    closeToScale(await be.read(y), mib.mlpRef(w, rows, N), 'MLP output');
    const objective = (weights: mib.MLPWeights, input: ArrayLike<number>) => {
      const out = mib.mlpRef(weights, input, N);
      return out.reduce((s, v, i) => s + dOut[i]! * v, 0);
    };
    const dParams = numericGrad((v) => objective(unflatten(w, v), rows), flatten(w));
    closeToScale(flatLayers(await mlp.readGradients()), dParams, 'parameter gradients vs finite differences');
    const dRows = numericGrad((v) => objective(w, v), rows);
    const got0 = await be.read(dx0);
    const got1 = await be.read(dx1);
    const gotRows = mib.concatColumns(got0, 2, got1, 3, N);
    closeToScale(gotRows, dRows, 'dX vs finite differences');
    // A second backward accumulates: parameter gradients and (with accumulate) dX double.
    mlp.backward(tdOut, { dX: [dx0, undefined], accumulate: true });
    closeToScale(flatLayers(await mlp.readGradients()), dParams.map((g) => 2 * g), 'accumulated parameter gradients');
    closeToScale(await be.read(dx0), Array.from(got0, (g) => 2 * g), 'accumulated dX');
    closeToScale(await be.read(dx1), got1, 'dX left alone when not asked for');
  } finally {
    for (const x of t) x.dispose();
    mlp.dispose();
  }
});

test('MLP rejects wrong shapes and a backward before its forward', async () => {
  const be = await backend();
  const mlp = MLP.create(be, { sizes: [3, 4, 2] });
  const x = be.zeros([5, 3]);
  const wrong = be.zeros([5, 4]);
  try {
    assert.throws(() => MLP.create(be, { sizes: [3] }), errorOf(ConfigError, /sizes must be at least \[in, out\]/));
    assert.throws(() => MLP.create(be, { sizes: [3, 2], inputs: [1, 1] }), errorOf(ConfigError, /summing to the input width 3/));
    assert.throws(() => mlp.backward(be.zeros([5, 2])), errorOf(TensorStateError, /run forward\(\) on this tape first/));
    assert.throws(() => mlp.forward(wrong), errorOf(ShapeError, /MLP.forward: input 0 has shape \[5, 4\], expected \[5, 3\]/));
    mlp.forward(x);
    assert.throws(() => mlp.backward(wrong), errorOf(ShapeError, /MLP.backward: dOut has shape \[5, 4\], expected \[5, 2\]/));
    assert.throws(() => mlp.forward(be.zeros([2, 3]), mlp.newTape(5)), errorOf(ShapeError, /tape holds 5 rows/));
  } finally {
    x.dispose();
    wrong.dispose();
    mlp.dispose();
  }
});

test('AdamW trains an MLP: a small regression loss falls', async () => {
  const be = await backend();
  const N = 32;
  const mlp = MLP.create(be, { sizes: [3, 16, 16, 1] }, { seed: 5 });
  const opt = new AdamW(mlp, { lr: 1e-2, weight_decay: 0.01 });
  const xs = randomF32(N * 3, 6);
  const target = Array.from({ length: N }, (_, n) => Math.sin(2 * xs[3 * n]!) + xs[3 * n + 1]! * xs[3 * n + 2]!);
  const x = be.tensor(xs, [N, 3]);
  const negTarget = be.tensor(target.map((v) => -v), [N, 1]);
  const diff = be.zeros([N, 1]);
  const dOut = be.zeros([N, 1]);
  const lossOf = async (y: Tensor) => (await be.read(y)).reduce((s, v, n) => s + (v - target[n]!) ** 2, 0) / N;
  try {
    const first = await lossOf(mlp.forward(x));
    let last = first;
    for (let step = 0; step < 80; step++) {
      const y = mlp.forward(x);
      // L = mean (y − t)²: dL/dy = 2(y − t)/N, on the device.
      add(y, negTarget, diff);
      scale(diff, 2 / N, dOut);
      mlp.zeroGrad();
      mlp.backward(dOut);
      opt.update();
    }
    last = await lossOf(mlp.forward(x));
    assert.ok(Number.isFinite(last) && last < 0.3 * first, `loss ${first} → ${last}: expected to fall below 30%`);
  } finally {
    for (const t of [x, negTarget, diff, dOut]) t.dispose();
    opt.dispose();
    mlp.dispose();
  }
});

/** Random hidden states h1, h2 [B, C], uploaded. */
function views(be: Backend, B: number, C: number, seed: number) {
  const h1 = randomF32(B * C, seed);
  const h2 = randomF32(B * C, seed + 1);
  return { h1, h2, t1: be.tensor(h1, [B, C]), t2: be.tensor(h2, [B, C]) };
}

test('MIBHeads.step: stats, ∂/∂h and every head gradient match finite differences of the float64 composite', async () => {
  const be = await backend();
  const [B, C, K, H] = [3, 6, 3, 5];
  const o = { beta: 0.8, weight: 0.5, seed: 7, step: 2 };
  const heads = new MIBHeads(be, { n_embd: C, mib_latent: K, mib_hidden: H, seed: 11 });
  const v = views(be, B, C, 20);
  try {
    heads.zeroGrad();
    const r = heads.step(v.t1, v.t2, o);
    const eps = philoxNormals(2 * B * K, { seed: o.seed, stream: 0, offset: o.step });
    const [eps1, eps2] = [eps.subarray(0, B * K), eps.subarray(B * K)];
    const w: mib.HeadsWeights = {
      mu: toRef(heads.mu.sizes, await heads.mu.readWeights()),
      sigma: toRef(heads.sigma.sizes, await heads.sigma.readWeights()),
      critic: toRef(heads.critic.sizes, await heads.critic.readWeights()),
    };
    const at = (x: mib.HeadsWeights, h1: ArrayLike<number>, h2: ArrayLike<number>) => mib.mibComposite(x, h1, h2, eps1, eps2, B, o);
    const want = at(w, v.h1, v.h2);
    assertClose(await be.read(r.stats), [want.loss, want.jsd, want.skl], { rtol: 1e-4, atol: 1e-5, what: 'stats (L_M, I_JSD, D_SKL)' });
    closeToScale(await be.read(r.dH1), numericGrad((h) => at(w, h, v.h2).value, v.h1), 'dH1 vs finite differences');
    closeToScale(await be.read(r.dH2), numericGrad((h) => at(w, v.h1, h).value, v.h2), 'dH2 vs finite differences');
    for (const name of ['mu', 'sigma', 'critic'] as const) {
      const numeric = numericGrad((p) => at({ ...w, [name]: unflatten(w[name], p) }, v.h1, v.h2).value, flatten(w[name]));
      closeToScale(flatLayers(await heads[name].readGradients()), numeric, `${name} gradients vs finite differences`);
    }
  } finally {
    v.t1.dispose();
    v.t2.dispose();
    heads.dispose();
  }
});

test('MIBHeads.step: the noise follows (seed, step), and the heads learn to lower L_M', async () => {
  const be = await backend();
  const [B, C] = [8, 12];
  const heads = new MIBHeads(be, { n_embd: C, mib_latent: 4, mib_hidden: 16, seed: 1, optimizer: { lr: 2e-2, weight_decay: 0 } });
  // Correlated views: the second is the first plus a little noise, so they share information.
  const h1 = randomF32(B * C, 30);
  const h2 = Float32Array.from(h1, (x, i) => x + 0.1 * randomF32(B * C, 31)[i]!);
  const t1 = be.tensor(h1, [B, C]);
  const t2 = be.tensor(h2, [B, C]);
  const stats = async (step: number) => Array.from(await be.read(heads.step(t1, t2, { beta: 1, seed: 3, step }).stats));
  try {
    const a = await stats(0);
    assert.equal(await stats(0), a, 'the same seed and step give the same loss');
    assert.not.equal(await stats(1), a, 'another step draws other noise');
    let first = 0;
    let last = 0;
    for (let step = 0; step < 60; step++) {
      heads.zeroGrad();
      const r = heads.step(t1, t2, { beta: 1, seed: 3, step });
      if (step === 0) first = (await be.read(r.stats))[0]!;
      heads.optimizer.update();
    }
    // The average of a few final steps (each draws its own noise).
    for (let step = 60; step < 65; step++) last += (await stats(step))[0]! / 5;
    assert.ok(last < 0.5 * first, `L_M ${first} → ${last}: expected to fall below half`);
  } finally {
    t1.dispose();
    t2.dispose();
    heads.dispose();
  }
});

test('MIBHeads.step rejects one prompt, mismatched views and bad options', async () => {
  const be = await backend();
  const heads = new MIBHeads(be, { n_embd: 4 });
  const one = be.zeros([1, 4]);
  const two = be.zeros([2, 4]);
  const three = be.zeros([3, 4]);
  const wide = be.zeros([2, 5]);
  const o = { beta: 1, seed: 0, step: 0 };
  try {
    assert.throws(() => heads.step(one, be.zeros([1, 4]), o), errorOf(ShapeError, /MIBHeads.step: 1 view pair/, /at least 2 prompts \(B ≥ 2\)/));
    assert.throws(() => heads.step(two, three, o), errorOf(ShapeError, /h1 has 2 rows and h2 3/));
    assert.throws(() => heads.step(two, wide, o), errorOf(ShapeError, /h2 has shape \[2, 5\], expected \[B, 4\]/));
    assert.throws(() => heads.step(two, two, { ...o, beta: -1 }), errorOf(ConfigError, /MIBHeads.step: beta/));
    assert.throws(() => heads.step(two, two, { ...o, step: 1.5 }), errorOf(ConfigError, /MIBHeads.step: step/));
    assert.throws(() => new MIBHeads(be, { n_embd: 4, mib_latent: 0 }), errorOf(ConfigError, /mib_latent must be a positive integer/));
  } finally {
    for (const t of [one, two, three, wide]) t.dispose();
    heads.dispose();
  }
});

test('GPT.lastHidden and backward({ dLastHidden }): the rows the score head reads, and its gradient path', async () => {
  const be = await backend();
  const config = gptConfig({ vocab_size: 11, n_positions: 8, n_embd: 8, n_layer: 2, n_head: 2 });
  const { model } = tinyModel(be, 4, config);
  const batch = { inputIds: [[3, 1, 4, 1, 5], [0, 0, 2, 6, 5], [7, 10, 8, 0, 0]], attentionMask: [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1], [1, 1, 1, 0, 0]] };
  const tensors: Tensor[] = [];
  const up = (data: ArrayLike<number>, shape: number[]) => {
    const t = be.tensor(data, shape);
    tensors.push(t);
    return t;
  };
  try {
    const p = model.forward(batch, { logits: false });
    const C = config.n_embd;
    const hidden = await be.read(model.hidden);
    const last = await be.read(model.lastHidden());
    assertClose(last, Array.from(p.lastRows).flatMap((row) => Array.from(hidden.subarray(row * C, row * C + C))), { atol: 0, rtol: 0, what: 'lastHidden rows' });
    model.scores();
    const d = randomF32(p.B, 8);
    const e = randomF32(p.B * C, 9);
    const w = await be.read(model.param('score.weight'));
    const gradsOf = async (input: Parameters<CausalLM['backward']>[0]) => {
      model.zeroGrad();
      model.backward(input);
      const g = await model.readGradients();
      g.delete('score.weight');
      g.delete('score.bias');
      return [...g.values()].flatMap((x) => Array.from(x));
    };
    // A linear head: ∂L/∂h = dScores·w, so both paths give the same model gradients.
    const viaScores = await gradsOf({ dScores: up(d, [p.B, 1]) });
    const viaHidden = await gradsOf({ dLastHidden: up(Array.from({ length: p.B * C }, (_, i) => d[Math.floor(i / C)]! * w[i % C]!), [p.B, C]) });
    assert.ok(viaScores.some((g) => g !== 0), 'the score path reaches the model');
    closeToScale(viaHidden, viaScores, 'dLastHidden = dScores·w gives the dScores gradients', 1e-5);
    // One call with both adds them.
    const alone = await gradsOf({ dLastHidden: up(e, [p.B, C]) });
    const both = await gradsOf({ dScores: up(d, [p.B, 1]), dLastHidden: up(e, [p.B, C]) });
    closeToScale(both, alone.map((g, i) => g + viaScores[i]!), 'dScores and dLastHidden together', 1e-5);
    assert.throws(() => model.backward({ dLastHidden: up(e, [p.B * C]) }), errorOf(ShapeError, /dLastHidden has shape \[24\], expected \[3, 8\]/));
  } finally {
    for (const t of tensors) t.dispose();
    model.dispose();
  }
});

test('mibBeta: constant, or geometric from 1e-3 to β over the run', () => {
  assert.is(mibBeta(0, 10, { beta: 0.7 }), 0.7);
  assert.is(mibBeta(9, 10, { beta: 0.7 }), 0.7);
  const o = { beta: 1, anneal: true };
  assert.is(mibBeta(0, 11, o), MIB_BETA_START);
  assert.ok(Math.abs(mibBeta(5, 11, o) - Math.sqrt(MIB_BETA_START)) < 1e-12, 'halfway is the geometric mean');
  assert.ok(Math.abs(mibBeta(10, 11, o) - 1) < 1e-12, 'the last step reaches β');
  assert.ok(Math.abs(mibBeta(50, 11, o) - 1) < 1e-12, 'and stays there');
  assert.ok(mibBeta(3, 11, o) < mibBeta(4, 11, o), 'growing');
  assert.is(mibBeta(0, 1, o), 1);
  assert.is(mibBeta(0, 11, { beta: 1e-4, anneal: true }), 1e-4);
  assert.throws(() => mibBeta(0, 0, o), errorOf(ConfigError, /totalSteps/));
  assert.throws(() => mibBeta(-1, 5, o), errorOf(ConfigError, /step must be an integer ≥ 0/));
  assert.throws(() => mibBeta(0, 5, { beta: NaN }), errorOf(ConfigError, /mib_beta/));
});

test('philoxNormals: reproducible standard normals', () => {
  const o = { seed: 42, stream: 0, offset: 3 };
  const x = philoxNormals(20000, o);
  assert.equal(Array.from(philoxNormals(5, o)), Array.from(x.subarray(0, 5)), 'a prefix of a longer draw');
  assert.not.equal(Array.from(philoxNormals(5, { ...o, offset: 4 })), Array.from(x.subarray(0, 5)), 'another offset, other draws');
  const mean = x.reduce((s, v) => s + v, 0) / x.length;
  const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length;
  assert.ok(Math.abs(mean) < 0.03 && Math.abs(variance - 1) < 0.04, `mean ${mean}, variance ${variance}`);
  assert.ok(x.every(Number.isFinite));
});

test.run();
