// LoRA adapters: PEFT's own adapters (test/fixtures/make_peft_fixtures.py) load here with
// PEFT's logits, loss and every adapter gradient; adapters saved here load back; gradients
// equal the low-rank parameterisation of the merged model's; enable, disable and merge
// round-trip; roles share one base; bad settings and mismatched bases are typed errors.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AdamW, CheckpointError, ConfigError, loadAdapter, trainingMemory, loadModel, memoryFolder, readAdapterFolder, saveAdapter, saveModel,
  transformersName, type CausalLM,
} from 'webrlhf';
import { fixtureFolder, hfFixture, relativeError } from './harness/hf_fixtures.js';
import { rng } from './harness/reference.js';
import { errorOf, rejectsWith } from './harness/rejects.js';
import { legBackendInstance as backend } from './harness/runtime.js';

const test = suite('lora');
const TOLERANCE = 1e-4;
const base = async (family: string) => loadModel(await backend(), fixtureFolder(`hf-tiny/${family}`));
const peft = (name: string) => fixtureFolder(`peft-tiny/${name}`);

/** The name PEFT's file gives an adapter tensor. */
const peftName = (model: CausalLM, name: string) => `base_model.model.${/\.lora_[AB]\.weight$/.test(name) ? name : transformersName(model.arch, name)}`;

/** Every adapter gradient equals PEFT's of the same name (golden's grad.<PEFT key>). */
function assertPeftGradients(model: CausalLM, grads: Map<string, Float32Array>, golden: Map<string, { data: Float32Array }>): void {
  for (const [tensor, g] of grads) {
    const want = golden.get(`grad.${peftName(model, tensor)}`);
    assert.ok(want, `PEFT has no gradient for ${peftName(model, tensor)}`);
    const err = relativeError(g, want!.data);
    assert.ok(err < TOLERANCE, `${tensor}: gradient relative error ${err}`);
  }
}

const CAUSAL_CASES = [['llama-all-linear', 'llama'], ['gpt2-all-linear', 'gpt2'], ['qwen3-rslora', 'qwen3']] as const;

for (const [name, family] of CAUSAL_CASES) {
  test(`${name}: PEFT's adapter loads with PEFT's logits, loss, adapter gradients and merged logits`, async () => {
    const be = await backend();
    const baseModel = await loadModel(be, fixtureFolder(`hf-tiny/${family}`));
    const model = await loadAdapter(baseModel, peft(name));
    const { tokens, mask, golden } = await hfFixture(`hf-tiny/${family}`, `peft-tiny/${name}`);
    const V = model.arch.vocabSize;
    const real = (i: number) => mask[Math.floor(i / V)] === 1;
    model.zeroGrad();
    model.forward(tokens);
    const loss = (await be.read(model.lmLoss()))[0]!;
    model.backward({ lm: true });
    const logitsError = relativeError(await be.read(model.logits), golden.get('logits')!.data, real);
    assert.ok(logitsError < TOLERANCE, `logits: relative error ${logitsError}`);
    assert.ok(Math.abs(loss - golden.get('loss')!.data[0]!) < TOLERANCE, `loss ${loss}, PEFT ${golden.get('loss')!.data[0]}`);
    const grads = await model.readGradients();
    const gradKeys = [...golden.keys()].filter((k) => k.startsWith('grad.'));
    assert.is(grads.size, gradKeys.length, 'one gradient per adapter tensor, as PEFT trains');
    assertPeftGradients(model, grads, golden);
    const merged = await model.merged();
    merged.forward(tokens);
    const mergedError = relativeError(await be.read(merged.logits), golden.get('merged_logits')!.data, real);
    assert.ok(mergedError < TOLERANCE, `merged logits: relative error ${mergedError}`);
    // The adapter switched off is the base itself.
    model.setAdapterEnabled(false);
    model.forward(tokens);
    baseModel.forward(tokens);
    assert.equal(await be.read(model.logits), await be.read(baseModel.logits), 'disabled adapter = base');
    for (const m of [merged, model, baseModel]) m.dispose();
  });
}

test('qwen2 SEQ_CLS adapter with modules_to_save: PEFT\'s scores, loss and gradients (LoRA and the score head)', async () => {
  const be = await backend();
  const baseModel = await base('qwen2');
  const model = await loadAdapter(baseModel, peft('qwen2-seqcls-modules-to-save'));
  assert.equal(model.heads, { score: true, value: false });
  const { tokens, golden } = await hfFixture('hf-tiny/qwen2', 'peft-tiny/qwen2-seqcls-modules-to-save');
  const labels = [1.0, -0.5, 0.25];
  model.zeroGrad();
  model.forward(tokens, { logits: false });
  const scores = await be.read(model.scores());
  assert.ok(relativeError(scores, golden.get('scores')!.data) < TOLERANCE, `scores ${[...scores]} vs PEFT ${[...golden.get('scores')!.data]}`);
  // transformers' regression loss: mean (s − y)², so ∂L/∂s = 2(s − y)/B.
  const loss = scores.reduce((n, s, i) => n + (s - labels[i]!) ** 2, 0) / labels.length;
  assert.ok(Math.abs(loss - golden.get('loss')!.data[0]!) < TOLERANCE);
  model.backward({ dScores: be.tensor(scores.map((s, i) => (2 * (s - labels[i]!)) / labels.length), [3, 1]) });
  const grads = await model.readGradients();
  assert.not.ok(grads.has('score.bias'), 'a SEQ_CLS adapter\'s score head has no bias, as transformers\' classifier');
  assertPeftGradients(model, grads, golden);
  const merged = await model.merged();
  merged.forward(tokens, { logits: false });
  assert.ok(relativeError(await be.read(merged.scores()), golden.get('merged_scores')!.data) < TOLERANCE, 'merged scores');
  for (const m of [merged, model, baseModel]) m.dispose();
});

test('an adapter saved here has PEFT\'s file names and config, and loads back to the same logits', async () => {
  const be = await backend();
  const baseModel = await base('gpt2');
  const model = await loadAdapter(baseModel, peft('gpt2-all-linear'));
  const out = memoryFolder();
  await saveAdapter(model, out);
  const original = await readAdapterFolder(peft('gpt2-all-linear'));
  const saved = await readAdapterFolder(out);
  assert.equal([...saved.tensors.keys()].sort(), [...original.tensors.keys()].sort(), 'the tensor names PEFT wrote');
  for (const [k, t] of original.tensors) assert.equal([...saved.tensors.get(k)!.data], [...t.data], k);
  for (const key of ['peft_type', 'r', 'lora_alpha', 'use_rslora', 'fan_in_fan_out', 'task_type', 'bias']) {
    assert.equal(saved.raw[key], original.raw[key], `adapter_config.json: ${key}`);
  }
  // saveModel writes an adapted model's adapter (its run folders hold adapters only).
  const viaSaveModel = memoryFolder();
  await saveModel(model, viaSaveModel);
  assert.equal([...viaSaveModel.files.keys()].sort(), ['adapter_config.json', 'adapter_model.safetensors']);
  const reloaded = await loadAdapter(baseModel, out);
  const { tokens } = await hfFixture('hf-tiny/gpt2');
  model.forward(tokens);
  reloaded.forward(tokens);
  assert.equal(await be.read(reloaded.logits), await be.read(model.logits));
  for (const m of [reloaded, model, baseModel]) m.dispose();
});

/** Host matmul of row-major [m, k] × [k, n]. */
function hostMatmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, transA = false, transB = false): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += (transA ? a[p * m + i]! : a[i * k + p]!) * (transB ? b[j * k + p]! : b[p * n + j]!);
    out[i * n + j] = s;
  }
  return out;
}

for (const family of ['llama', 'gpt2'] as const) {
  test(`${family}: adapter gradients = the low-rank parameterisation's, from the merged model's weight gradients`, async () => {
    const be = await backend();
    const baseModel = await base(family);
    // init_lora_weights false: B is random too, so every term of the chain rule is exercised.
    const model = await baseModel.withAdapter({ r: 3, lora_alpha: 5, target_modules: 'all-linear', init_lora_weights: false }, { seed: 4 });
    const { tokens } = await hfFixture(`hf-tiny/${family}`);
    model.zeroGrad();
    model.forward(tokens);
    model.lmLoss();
    model.backward({ lm: true });
    const merged = await model.merged();
    merged.zeroGrad();
    merged.forward(tokens);
    merged.lmLoss();
    merged.backward({ lm: true });
    const [lora, values, full] = [await model.readGradients(), await model.readParameters(), await merged.readGradients()];
    const s = model.adapter!.scaling;
    for (const pair of model.adapter!.pairs.values()) {
      const { in: I, out: O, inputMajor } = pair.ref;
      const r = 3;
      const [A, B, G] = [values.get(pair.a)!, values.get(pair.b)!, full.get(pair.ref.weight)!];
      // With W' = W + s·B·A ([out, in]): ∂L/∂B = s·G·Aᵀ, ∂L/∂A = s·Bᵀ·G (G = ∂L/∂W' as [out, in]).
      const Gout = inputMajor ? Float32Array.from({ length: O * I }, (_, i) => G[(i % I) * O + Math.floor(i / I)]!) : G;
      const wantB = hostMatmul(Gout, A, O, I, r, false, true).map((v) => v * s);
      const wantA = hostMatmul(B, Gout, r, O, I, true, false).map((v) => v * s);
      assert.ok(relativeError(lora.get(pair.b)!, wantB) < 1e-4, `${pair.b}: ${relativeError(lora.get(pair.b)!, wantB)}`);
      assert.ok(relativeError(lora.get(pair.a)!, wantA) < 1e-4, `${pair.a}: ${relativeError(lora.get(pair.a)!, wantA)}`);
    }
    for (const m of [merged, model, baseModel]) m.dispose();
  });
}

test('with lora_dropout, backward redraws its forward\'s masks: adapter gradients match central differences of the loss under the same masks', async () => {
  const be = await backend();
  const baseModel = await base('qwen3');
  const model = await baseModel.withAdapter({ r: 2, lora_alpha: 4, lora_dropout: 0.4, target_modules: 'all-linear', init_lora_weights: false }, { seed: 3 });
  const { tokens } = await hfFixture('hf-tiny/qwen3');
  const draws = model.adapter!.dropoutDraws;
  const loss = async () => {
    model.adapter!.dropoutDraws = draws; // the same masks as the gradient's forward
    model.forward(tokens);
    return (await be.read(model.lmLoss()))[0]!;
  };
  model.zeroGrad();
  const l0 = await loss();
  model.backward({ lm: true });
  const grads = await model.readGradients();
  // The masks matter: without dropout the loss differs.
  model.adapter!.training = false;
  model.forward(tokens);
  assert.ok(Math.abs((await be.read(model.lmLoss()))[0]! - l0) > 1e-4, 'dropout changes the training loss');
  model.adapter!.training = true;
  // A random direction over every adapter tensor: (L(θ + εv) − L(θ − εv)) / 2ε = ∇L·v.
  const values = await model.readParameters();
  const r = rng(17);
  const direction = new Map([...values].map(([n, v]) => [n, Float32Array.from(v, () => r() * 2 - 1)]));
  const eps = 2e-3;
  const at = async (sign: number) => {
    const host = new Float32Array(model.layout.total);
    for (const spec of model.layout.specs) host.set(values.get(spec.name)!.map((x, i) => x + sign * eps * direction.get(spec.name)![i]!), spec.offset);
    be.write(model.params, host);
    return loss();
  };
  const numeric = ((await at(1)) - (await at(-1))) / (2 * eps);
  let analytic = 0;
  for (const [n, g] of grads) g.forEach((x, i) => (analytic += x * direction.get(n)![i]!));
  assert.ok(Math.abs(numeric - analytic) < 0.01 * Math.abs(analytic), `directional derivative: numeric ${numeric}, analytic ${analytic}`);
  model.dispose();
  baseModel.dispose();
});

test('a new adapter starts as its base (B = 0), trains only its own tensors, and every role shares the base\'s weights', async () => {
  const be = await backend();
  const baseModel = await base('llama');
  const before = await baseModel.readParameters();
  const { tokens } = await hfFixture('hf-tiny/llama');
  baseModel.forward(tokens);
  const baseLogits = await be.read(baseModel.logits);
  const policy = await baseModel.withAdapter({ r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'] });
  policy.forward(tokens);
  assert.equal(await be.read(policy.logits), baseLogits, 'B starts at zero');
  const held = be.memory().bytes;
  assert.is(policy.layout.specs.length, 2 * 2 * baseModel.arch.layers, 'lora_A and lora_B of q_proj and v_proj in each layer');
  const reference = policy.clone().freeze();
  const value = await policy.withHeads({ value: true });
  assert.equal(value.heads, { score: false, value: true });
  // More roles cost their adapters (and activations once they run), not copies of the weights.
  const [baseBytes, adapterBytes] = [baseModel.baseLayout.total * 4, policy.layout.total * 4];
  const added = be.memory().bytes - held;
  assert.ok(added <= 2 * adapterBytes + 4096 && added < baseBytes / 4, `two roles added ${added} bytes; an adapter is ${adapterBytes}, the base ${baseBytes}`);
  const optimizer = new AdamW(policy, { lr: 0.05, weight_decay: 0 });
  const losses: number[] = [];
  for (let step = 0; step < 6; step++) {
    policy.zeroGrad();
    policy.forward(tokens);
    losses.push((await be.read(policy.lmLoss()))[0]!);
    policy.backward({ lm: true });
    optimizer.update();
  }
  assert.ok(losses.at(-1)! < losses[0]! - 0.05, `LoRA SFT lowers the loss: ${losses.map((l) => l.toFixed(4)).join(' → ')}`);
  assert.throws(() => policy.grad('model.layers.0.self_attn.q_proj.weight'), /frozen base weight/);
  const after = await baseModel.readParameters();
  for (const [name, v] of before) assert.equal([...after.get(name)!], [...v], `${name} is unchanged`);
  // The reference kept the starting adapter; disposing roles leaves the others working.
  reference.forward(tokens);
  assert.equal(await be.read(reference.logits), baseLogits);
  policy.dispose();
  value.forward(tokens, { logits: false });
  assert.is((await be.read(value.values())).length, tokens.inputIds.length * tokens.inputIds[0]!.length);
  for (const m of [optimizer, value, reference, baseModel]) m.dispose();
});

test('an adapter on a bf16 base computes and trains as on the f32 base (the fixture\'s weights are bf16 values)', async () => {
  const be = await backend();
  const f32 = await base('llama');
  const bf16 = await loadModel(be, fixtureFolder('hf-tiny/llama'), { dtype: 'bf16' });
  assert.ok(bf16.frozen, 'a 16-bit model is frozen');
  const config = { r: 4, lora_alpha: 8, target_modules: 'all-linear', init_lora_weights: false } as const;
  const [a, b] = [await f32.withAdapter(config, { seed: 9 }), await bf16.withAdapter(config, { seed: 9 })];
  assert.not.ok(b.frozen, 'its adapter trains');
  const { tokens } = await hfFixture('hf-tiny/llama');
  for (const m of [a, b]) {
    m.zeroGrad();
    m.forward(tokens);
    m.lmLoss();
    m.backward({ lm: true });
  }
  assert.ok(relativeError(await be.read(b.logits), await be.read(a.logits)) < 1e-5, 'logits');
  const [ga, gb] = [await a.readGradients(), await b.readGradients()];
  for (const [name, g] of ga) assert.ok(relativeError(gb.get(name)!, g) < 1e-4, `${name}: ${relativeError(gb.get(name)!, g)}`);
  for (const m of [a, b, bf16, f32]) m.dispose();
});

test('trainingMemory of a LoRA step on a bf16 base tracks the peak the backend measures', async () => {
  const be = await backend();
  const { tokens } = await hfFixture('hf-tiny/llama');
  const [B, T] = [tokens.inputIds.length, tokens.inputIds[0]!.length];
  const lora = { r: 4, lora_alpha: 8, target_modules: 'all-linear', lora_dropout: 0.1 } as const;
  const before = be.memory().bytes;
  be.memoryTracker.resetPeak();
  const baseModel = await loadModel(be, fixtureFolder('hf-tiny/llama'), { dtype: 'bf16' });
  const config = baseModel.config;
  const model = await baseModel.withAdapter(lora);
  const optimizer = new AdamW(model);
  model.zeroGrad();
  model.forward(tokens);
  model.lmLoss();
  model.backward({ lm: true });
  optimizer.update();
  await be.flush();
  const peak = be.memory().peakBytes - before;
  const est = trainingMemory(config, B, T, { dtype: 'bf16', lora });
  assert.is(est.trainableCount, [...(await model.readParameters()).values()].reduce((n, v) => n + v.length, 0), 'the adapter\'s parameters');
  // Besides the estimate: the batch's ids, masks and row indexes, token losses, rotary tables, the frozen norms' scratch.
  assert.ok(Math.abs(peak - est.total) / est.total < 0.05, `estimate ${est.total} B, measured peak ${peak} B`);
  const full = trainingMemory(config, B, T);
  assert.ok(est.gradients < full.gradients / 4 && est.parameters < full.parameters, 'an adapter on a bf16 base needs less than full fine-tuning');
  for (const m of [optimizer, model, baseModel]) m.dispose();
});

test('bad LoRA settings and adapters for another base are typed errors naming the key, module or tensor', async () => {
  const be = await backend();
  const llama = await base('llama');
  await rejectsWith(llama.withAdapter({ r: 0 }), errorOf(ConfigError, /r must be a positive integer/), 'r must be a positive integer');
  await rejectsWith(llama.withAdapter({ r: 4, target_modules: ['q_proj', 'c_attn'] }), errorOf(ConfigError, /named c_attn/), 'named c_attn');
  await rejectsWith(llama.withAdapter({ target_modules: ['lm_head'] }), errorOf(ConfigError, /lm_head is not a linear map inside the blocks/), 'lm_head is not a linear map inside the blocks');
  await rejectsWith(llama.withAdapter({ target_modules: '.*nothing.*' }), errorOf(ConfigError, /matches no linear map/), 'matches no linear map');
  await rejectsWith(llama.withAdapter({ lora_dropout: 1 }), errorOf(ConfigError, /lora_dropout/), 'lora_dropout');
  await rejectsWith(llama.withAdapter({ use_dora: true }), errorOf(ConfigError, /use_dora/), 'use_dora');
  // GPT-2's adapter names modules a Llama lacks; Qwen3's has other widths than Qwen2's base.
  await rejectsWith(loadAdapter(llama, peft('gpt2-all-linear')), errorOf(CheckpointError, /does not fit this LlamaForCausalLM/), 'does not fit this LlamaForCausalLM');
  const qwen2 = await base('qwen2');
  await rejectsWith(loadAdapter(qwen2, peft('qwen3-rslora')), errorOf(CheckpointError, /shape .* needs/), 'shape .* needs');
  await rejectsWith(loadAdapter(llama, memoryFolder()), errorOf(CheckpointError, /adapter_config.json not found/), 'adapter_config.json not found');
  const adapted = await llama.withAdapter();
  await rejectsWith(adapted.withAdapter(), errorOf(Error, /already has an adapter/), 'already has an adapter');
  for (const m of [adapted, qwen2, llama]) m.dispose();
  void be;
});

test.run();
