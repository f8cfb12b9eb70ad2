// The whole model: loss, logits, head outputs and every gradient against the float64
// reference (gradients by central finite differences of it), padding invariance, and the
// model's own bookkeeping (clone, freeze, non-finite losses).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AdamW, architectureOf, CausalLM, NonFiniteLossError, TensorStateError, gptConfig, lmTrainStep, prepareBatch, type Backend, type GPTConfig, type TokenBatch } from 'webrlhf';
import { gptReference, tokenLogprobsRef, type Weights } from './harness/gpt_reference.js';
import { tinyModel, toF64 } from './harness/models.js';
import { numericGrad } from './harness/layer_reference.js';
import { assertClose, randomF32, rng } from './harness/reference.js';
import { legBackendInstance as backend } from './harness/runtime.js';

const test = suite('gpt');

const TINY: GPTConfig = gptConfig({ vocab_size: 11, n_positions: 8, n_embd: 8, n_layer: 2, n_head: 2 });

const BATCH: TokenBatch = {
  inputIds: [[3, 1, 4, 1, 5, 9], [0, 0, 2, 6, 5, 3], [7, 10, 8, 0, 0, 0]],
  attentionMask: [[1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]],
  labels: [[3, 1, 4, -100, 5, 9], [-100, -100, 2, 6, 5, 3], [7, 10, 8, -100, -100, -100]],
  lossWeights: [[1, 1, 0.5, 1, 2, 1], [1, 1, 1, 1, 1, 0.25], [1, 1, 3, 1, 1, 1]],
};

test('loss, logits, heads and every gradient match the float64 reference (finite differences)', async () => {
  const be = await backend();
  const { model, weights } = tinyModel(be, 1, TINY);
  const p = model.forward(BATCH);
  const loss = model.lmLoss();
  const scores = model.scores();
  const values = model.values();
  const dScores = randomF32(p.B, 2);
  const dValues = randomF32(p.B * p.T, 3);
  model.zeroGrad();
  model.backward({ lm: true, dScores: be.tensor(dScores, [p.B, 1]), dValues: be.tensor(dValues, [p.B * p.T, 1]) });

  const w64 = toF64(weights);
  const ref = gptReference(TINY, w64, p);
  assertClose(await be.read(loss), [ref.loss], { rtol: 1e-5, what: 'loss' });
  assertClose(await be.read(model.logits), ref.logits, { rtol: 1e-4, atol: 1e-5, what: 'logits' });
  assertClose(await be.read(scores), ref.scores!, { rtol: 1e-4, atol: 1e-5, what: 'scores' });
  assertClose(await be.read(values), ref.values!, { rtol: 1e-4, atol: 1e-5, what: 'values' });

  // The scalar objective whose gradient backward() computed.
  const objective = (w: Weights) => {
    const o = gptReference(TINY, w, p);
    let s = o.loss;
    o.scores!.forEach((v, i) => (s += dScores[i]! * v));
    o.values!.forEach((v, i) => (s += dValues[i]! * v));
    return s;
  };
  const grads = await model.readGradients();
  for (const spec of model.layout.specs) {
    const want = numericGrad((x) => objective(new Map(w64).set(spec.name, x)), w64.get(spec.name)!);
    const typical = Math.max(...want.map(Math.abs), 1e-3);
    assertClose(grads.get(spec.name)!, want, { rtol: 1e-4, atol: 1e-4 * typical, what: `∂/∂${spec.name}` });
  }
  model.dispose();
});

test('backward({ dLogprobs }) is the gradient of a loss of the targets\' log-probs at a temperature', async () => {
  const be = await backend();
  const { model, weights } = tinyModel(be, 4, TINY);
  const p = model.forward(BATCH);
  const scale = 1 / 0.7;
  const { logprobs, entropies } = model.tokenLogprobs(scale);
  const N = p.B * p.T;
  const V = TINY.vocab_size;
  const coef = Array.from(randomF32(N, 5), (c, i) => (p.targets[i]! >= 0 ? c : 0));
  model.zeroGrad();
  model.backward({ dLogprobs: be.tensor(Float32Array.from(coef)), logprobScale: scale });

  const w64 = toF64(weights);
  const tokenTerms = (w: Weights) => tokenLogprobsRef(gptReference(TINY, w, p).logits, p.targets, V, scale);
  const want = tokenTerms(w64);
  const got = Array.from(await be.read(logprobs));
  got.forEach((v, i) => assert.is(Number.isNaN(v), Number.isNaN(want.logprobs[i]!), `position ${i}: NaN exactly where there is no target`));
  assertClose(got.map((v) => (Number.isNaN(v) ? 0 : v)), want.logprobs.map((v) => (Number.isNaN(v) ? 0 : v)), { rtol: 1e-4, atol: 1e-5, what: 'log-probs' });
  assertClose(await be.read(entropies), want.entropies, { rtol: 1e-4, atol: 1e-5, what: 'entropies' });

  const objective = (w: Weights) => tokenTerms(w).logprobs.reduce((a, v, i) => a + (coef[i] ? coef[i]! * v : 0), 0);
  const grads = await model.readGradients();
  for (const { name } of model.layout.specs) {
    const numeric = numericGrad((x) => objective(new Map(w64).set(name, x)), w64.get(name)!);
    const typical = Math.max(...numeric.map(Math.abs), 1e-3);
    assertClose(grads.get(name)!, numeric, { rtol: 1e-4, atol: 1e-4 * typical, what: `∂/∂${name}` });
  }
  assert.throws(() => model.backward({ lm: true, dLogprobs: be.zeros([N]) }), (e: unknown) => e instanceof TensorStateError && /not both/.test((e as Error).message));
  model.dispose();
});

/** Σ weight·cross-entropy over hand-listed [row, position, target, weight] tuples, from the reference's logits [B·T, V]. */
function handWeightedLoss(logits: Float64Array, T: number, targets: [number, number, number, number][]): number {
  const V = TINY.vocab_size;
  return targets.reduce((sum, [b, t, target, weight]) => {
    const row = logits.subarray((b * T + t) * V, (b * T + t + 1) * V);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    return sum + weight * (lse - row[target]!);
  }, 0);
}

test('a mean loss divides by the number of target tokens, each weighted by the loss weight of its label (hand-listed targets)', async () => {
  const be = await backend();
  const { model } = tinyModel(be, 4, TINY);
  // BATCH's targets by hand: position t predicts labels[t + 1] with lossWeights[t + 1]; −100 labels and padded positions have none.
  const weighted: [number, number, number, number][] = [
    [0, 0, 1, 1], [0, 1, 4, 0.5], [0, 3, 5, 2], [0, 4, 9, 1],
    [1, 2, 6, 1], [1, 3, 5, 1], [1, 4, 3, 0.25],
    [2, 0, 10, 1], [2, 1, 8, 3],
  ];
  // Without labels, every real token after the first, weight 1.
  const unlabelled: [number, number, number, number][] = [
    [0, 0, 1, 1], [0, 1, 4, 1], [0, 2, 1, 1], [0, 3, 5, 1], [0, 4, 9, 1],
    [1, 2, 6, 1], [1, 3, 5, 1], [1, 4, 3, 1],
    [2, 0, 10, 1], [2, 1, 8, 1],
  ];
  const cases = [
    { what: 'weighted mean', batch: BATCH, reduction: 'mean' as const, targets: weighted, divisor: 9 },
    { what: 'weighted sum', batch: BATCH, reduction: 'sum' as const, targets: weighted, divisor: 1 },
    { what: 'unlabelled mean', batch: { inputIds: BATCH.inputIds, attentionMask: BATCH.attentionMask }, reduction: 'mean' as const, targets: unlabelled, divisor: 10 },
  ];
  for (const c of cases) {
    const p = model.forward(c.batch, { reduction: c.reduction });
    assert.is(p.counted, c.targets.length, `${c.what}: tokens counted`);
    const logits = Float64Array.from(await be.read(model.logits));
    assertClose(await be.read(model.lmLoss()), [handWeightedLoss(logits, p.T, c.targets) / c.divisor], { rtol: 1e-5, what: c.what });
  }
  model.dispose();
});

/** Loss per sequence (summed), scores, values and all gradients for one batch. */
async function run(model: CausalLM, batch: TokenBatch) {
  const be = model.backend;
  const p = model.forward(batch, { reduction: 'sum' });
  model.lmLoss();
  const scores = model.scores();
  const values = model.values();
  model.zeroGrad();
  model.backward({ lm: true, dScores: be.tensor(new Array(p.B).fill(1), [p.B, 1]), dValues: be.tensor(Float32Array.from(p.keyMask), [p.B * p.T, 1]) });
  return { p, tokenLosses: await be.read(model.tokenLosses), scores: await be.read(scores), values: await be.read(values), grads: await model.readGradients() };
}

for (const side of ['left', 'right'] as const) {
  test(`padding invariance (${side} padding): a sequence gives the same losses, head outputs and gradients alone and in a batch`, async () => {
    const be = await backend();
    const { model } = tinyModel(be, 5, TINY);
    const a = [3, 1, 4, 1, 5, 9, 2];
    const b = [6, 5, 3];
    const pad = (s: number[]) => (side === 'left' ? [...new Array(a.length - s.length).fill(0), ...s] : [...s, ...new Array(a.length - s.length).fill(0)]);
    const mask = (s: number[]) => pad(s.map(() => 1));
    const alone = [await run(model, { inputIds: [a] }), await run(model, { inputIds: [b] })];
    const both = await run(model, { inputIds: [pad(b), a], attentionMask: [mask(b), mask(a)] });
    const tol = { rtol: 1e-5, atol: 1e-6 };
    const offset = side === 'left' ? a.length - b.length : 0;
    assertClose(both.tokenLosses.slice(a.length), alone[0]!.tokenLosses, { ...tol, what: 'token losses of the unpadded row' });
    assertClose(both.tokenLosses.slice(offset, offset + b.length), alone[1]!.tokenLosses, { ...tol, what: 'token losses of the padded row' });
    assertClose([both.scores[0]!, both.scores[1]!], [alone[1]!.scores[0]!, alone[0]!.scores[0]!], { ...tol, what: 'scores' });
    assertClose(both.values.slice(offset, offset + b.length), alone[1]!.values, { ...tol, what: 'values of the padded row' });
    // Gradients add: the batch's (sum-reduced) gradient is the sum of the two alone.
    for (const [name, g] of both.grads) {
      const want = g.map((_, i) => alone[0]!.grads.get(name)![i]! + alone[1]!.grads.get(name)![i]!);
      const typical = Math.max(...want.map(Math.abs), 1e-3);
      assertClose(g, want, { rtol: 1e-4, atol: 1e-5 * typical, what: `∂/∂${name}` });
    }
    model.dispose();
  });
}

test('clone copies parameters; freeze drops gradients', async () => {
  const be = await backend();
  const { model } = tinyModel(be, 6, TINY);
  const copy = model.clone();
  const ref = copy.clone().freeze();
  const opt = new AdamW(copy, { lr: 0.1 });
  await lmTrainStep(copy, opt, BATCH);
  const [before, after, frozen] = [await model.readParameters(), await copy.readParameters(), await ref.readParameters()];
  assert.equal([...frozen.get('h.1.mlp.c_fc.weight')!], [...before.get('h.1.mlp.c_fc.weight')!], 'the frozen copy kept the original values');
  assert.not.equal([...after.get('h.1.mlp.c_fc.weight')!], [...before.get('h.1.mlp.c_fc.weight')!], 'training the clone changed it');
  ref.forward(BATCH);
  ref.lmLoss();
  assert.throws(() => ref.backward(), (e: unknown) => e instanceof TensorStateError && /frozen/.test(e.message));
  for (const m of [model, copy, ref]) m.dispose();
  opt.dispose();
});

test('a non-finite loss throws NonFiniteLossError naming the step and leaves the parameters as they were', async () => {
  const be = await backend();
  const { model } = tinyModel(be, 7, TINY);
  const opt = new AdamW(model, { lr: 1e-2 });
  await lmTrainStep(model, opt, BATCH);
  // Huge embeddings overflow the logits (±Inf) and the loss becomes NaN.
  be.write(model.param('ln_f.weight'), new Float32Array(TINY.n_embd).fill(3e38));
  const before = await be.read(model.params);
  const state = await be.read(opt.state);
  try {
    await lmTrainStep(model, opt, BATCH);
    assert.unreachable('the step should have thrown');
  } catch (e) {
    assert.instance(e, NonFiniteLossError);
    assert.is((e as NonFiniteLossError).step, 2);
    assert.match((e as Error).message, /step 2/);
  }
  assert.equal([...(await be.read(model.params))], [...before], 'parameters unchanged');
  assert.equal([...(await be.read(opt.state))], [...state], 'optimizer state unchanged');
  assert.is(opt.step, 1);
  model.dispose();
  opt.dispose();
});

test('prepareBatch: positions start at each row\'s first real token; bad batches are BatchErrors', () => {
  const p = prepareBatch(BATCH, architectureOf(TINY));
  assert.equal([...p.pos.slice(6, 12)], [0, 0, 0, 1, 2, 3]);
  assert.equal([...p.lastRows], [5, 11, 14]);
  const bad = (batch: TokenBatch, re: RegExp) =>
    assert.throws(() => prepareBatch(batch, architectureOf(TINY)), (e: unknown) => (e as Error).name === 'BatchError' && re.test((e as Error).message));
  bad({ inputIds: [[1, 2], [1]] }, /pad every row/);
  bad({ inputIds: [[1, 11]] }, /outside the vocabulary/);
  bad({ inputIds: [new Array(9).fill(1)] }, /n_positions = 8/);
  bad({ inputIds: [[1, 2]], attentionMask: [[0, 0]] }, /no real token/);
  bad({ inputIds: [[1, 2]], labels: [[1, 12]] }, /label 12/);
});

test.run();
