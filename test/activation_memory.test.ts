// Activation memory: gradient checkpointing (each block recomputed from its saved input in the
// backward) and the LM head in row chunks (no [B·T, V] logits) give the numbers of the model
// without them, on every transformers fixture; trainingMemory counts what they save, and
// tracks the peak the backend measures; the trainers' gradient_checkpointing key reaches the
// models they train.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AdamW, CausalLM, SFT_CONFIG, SFTTrainer, TensorStateError, configFlags, loadModel, sftConfig, trainingMemory,
  type Backend, type LoadModelOptions, type TokenBatch,
} from 'webrlhf';
import { assertGoldenGradients, fixtureFolder, GOLDEN_TOLERANCE, HF_FAMILIES, hfFixture, relativeError } from './harness/hf_fixtures.js';
import { rng } from './harness/reference.js';
import { legBackendInstance as backend } from './harness/runtime.js';
import { PROMPT, TOY_LLAMA_CONFIG, randomLetters, toyTokenizer } from './harness/toy_task.js';

const test = suite('activation memory');

const folder = (family: string) => fixtureFolder(`hf-tiny/${family}`);

/** Chunks of 64 rows over LONG's 3 × 40 = 120 tokens: one whole chunk and a short one. */
const CHUNK = 64;

/** 3 rows of 40 tokens (vocabulary 96): right-padded, left-padded, full; some labels ignored. */
function longBatch(seed: number): TokenBatch {
  const r = rng(seed);
  const T = 40;
  const real = [[0, 31], [9, 40], [0, 40]] as const;
  const inputIds = real.map(() => Array.from({ length: T }, () => 3 + Math.floor(r() * 90)));
  const attentionMask = real.map(([a, b]) => Array.from({ length: T }, (_, t) => (t >= a && t < b ? 1 : 0)));
  const labels = inputIds.map((ids, b) => ids.map((id, t) => (attentionMask[b]![t] && t % 7 !== 3 ? id : -100)));
  return { inputIds, attentionMask, labels };
}

async function loaded(be: Backend, family: string, options: LoadModelOptions = {}): Promise<CausalLM> {
  return loadModel(be, folder(family), options);
}

/** zeroGrad, forward, lmLoss, backward({ lm }) `passes` times (gradients add up); the loss, token losses and gradients. */
async function lmStep(model: CausalLM, tokens: TokenBatch, passes = 1) {
  model.zeroGrad();
  model.forward(tokens);
  const loss = model.lmLoss();
  for (let i = 0; i < passes; i++) model.backward({ lm: true });
  return { loss: (await model.backend.read(loss))[0]!, tokenLosses: await model.backend.read(model.tokenLosses), grads: await model.readGradients() };
}

function assertGradientsClose(got: Map<string, Float32Array>, want: Map<string, Float32Array>, tolerance: number, what: string): void {
  for (const [name, g] of want) {
    const err = relativeError(got.get(name)!, g);
    assert.ok(err <= tolerance, `${what}: ${name} relative error ${err}`);
  }
}

for (const family of HF_FAMILIES) {
  test(`${family}: gradient checkpointing gives transformers' loss and gradients, and exactly those without it`, async () => {
    const be = await backend();
    const { tokens, golden } = await hfFixture(`hf-tiny/${family}`);
    const plain = await loaded(be, family);
    const checkpointed = await loaded(be, family, { gradientCheckpointing: true });
    assert.ok(checkpointed.gradientCheckpointing && !plain.gradientCheckpointing);
    const want = await lmStep(plain, tokens);
    const got = await lmStep(checkpointed, tokens);
    const wantLoss = golden.get('loss')!.data[0]!;
    assert.ok(Math.abs(got.loss - wantLoss) / wantLoss < GOLDEN_TOLERANCE, `loss ${got.loss}, transformers ${wantLoss}`);
    assertGoldenGradients(checkpointed, got.grads, golden, 'checkpointed: ');
    // The recomputed blocks run the same kernels on the same inputs: the same bits.
    assert.is(got.loss, want.loss);
    for (const [name, g] of want.grads) assert.equal(got.grads.get(name), g, `${name}: checkpointed gradient differs`);
    plain.dispose();
    checkpointed.dispose();
  });

  test(`${family}: the LM head in chunks gives lmLoss, token losses and gradients as whole logits do`, async () => {
    const be = await backend();
    const tokens = longBatch(1);
    const whole = await loaded(be, family);
    const chunked = await loaded(be, family, { logitsChunkRows: CHUNK });
    const want = await lmStep(whole, tokens);
    const got = await lmStep(chunked, tokens);
    // Each token's loss reads its own row of logits; the head's gradient adds the chunks in another order.
    assert.ok(Math.abs(got.loss - want.loss) <= 1e-6 * Math.abs(want.loss), `loss ${got.loss}, whole ${want.loss}`);
    assert.ok(relativeError(got.tokenLosses, want.tokenLosses) <= 1e-6, 'token losses');
    assertGradientsClose(got.grads, want.grads, 1e-5, 'chunked');
    // No full logits to read unless forward is asked for them.
    assert.throws(() => chunked.logits, (e: unknown) => e instanceof TensorStateError && /chunks of 64 rows/.test(e.message) && /\{ logits: true \}/.test(e.message));
    chunked.forward(tokens, { logits: true });
    whole.forward(tokens);
    assert.ok(relativeError(await be.read(chunked.logits), await be.read(whole.logits)) <= 1e-6, 'forward({ logits: true }) gives the full logits');
    whole.dispose();
    chunked.dispose();
  });
}

test('tokenLogprobs(scale) and backward({ dLogprobs, logprobScale }) in chunks = with whole logits (the policy-gradient path)', async () => {
  const be = await backend();
  const tokens = longBatch(2);
  const r = rng(3);
  // A real position t predicts label t + 1 (labels are aligned with the inputs, as in transformers).
  const hasTarget = Array.from(tokens.labels!).flatMap((row, b) => Array.from(row, (_, t) => tokens.attentionMask![b]![t] === 1 && t + 1 < row.length && row[t + 1]! >= 0));
  const dLogprobs = Float32Array.from(hasTarget, (has) => (has ? r() - 0.5 : 0));
  for (const family of ['gpt2', 'qwen3'] as const) {
    const run = async (model: CausalLM) => {
      model.zeroGrad();
      model.forward(tokens);
      const { logprobs, entropies } = model.tokenLogprobs(1 / 0.7);
      const read = { logprobs: await be.read(logprobs), entropies: await be.read(entropies) };
      const d = be.tensor(dLogprobs);
      model.backward({ dLogprobs: d, logprobScale: 1 / 0.7 });
      d.dispose();
      return { ...read, grads: await model.readGradients() };
    };
    const whole = await loaded(be, family);
    const chunked = await loaded(be, family, { logitsChunkRows: CHUNK });
    const want = await run(whole);
    const got = await run(chunked);
    const target = (i: number) => hasTarget[i]!;
    const lpErr = relativeError(got.logprobs, want.logprobs, target);
    assert.ok(lpErr <= 1e-6, `${family}: log-probs, relative error ${lpErr}`);
    assert.ok(want.logprobs.every((lp, i) => Number.isNaN(lp) !== target(i)), `${family}: NaN exactly where no target`);
    assert.ok(relativeError(got.entropies, want.entropies) <= 1e-6, `${family}: entropies`);
    assertGradientsClose(got.grads, want.grads, 1e-5, `${family} chunked policy gradient`);
    whole.dispose();
    chunked.dispose();
  }
});

test('checkpointing and chunking together: one forward, two backward passes, the gradients of the plain model', async () => {
  const be = await backend();
  const tokens = longBatch(4);
  // The second backward finds layer 0's tensors in the shared set, not the last layer's: it must recompute every block.
  const plain = await loaded(be, 'qwen3');
  const lean = await loaded(be, 'qwen3', { gradientCheckpointing: true, logitsChunkRows: CHUNK });
  const want = await lmStep(plain, tokens, 2);
  const got = await lmStep(lean, tokens, 2);
  assertGradientsClose(got.grads, want.grads, 1e-5, 'checkpointed and chunked, two passes');
  // Switching checkpointing off takes effect at the next forward.
  lean.gradientCheckpointing = false;
  assert.throws(() => lean.backward({ lm: true }), (e: unknown) => e instanceof TensorStateError);
  const again = await lmStep(lean, tokens);
  const once = await lmStep(plain, tokens);
  assertGradientsClose(again.grads, once.grads, 1e-5, 'after switching checkpointing off');
  plain.dispose();
  lean.dispose();
});

test('a LoRA adapter with dropout under checkpointing and chunks: the adapter gradients of the plain model (masks drawn again from the same counters)', async () => {
  const be = await backend();
  const tokens = longBatch(8);
  const base = await loaded(be, 'llama');
  const lora = { r: 4, lora_alpha: 8, lora_dropout: 0.3, target_modules: 'all-linear', init_lora_weights: false } as const;
  const plain = await base.withAdapter(lora, { seed: 9 });
  const lean = await base.withAdapter(lora, { seed: 9 });
  lean.gradientCheckpointing = true;
  lean.logitsChunkRows = CHUNK;
  const want = await lmStep(plain, tokens);
  const got = await lmStep(lean, tokens);
  assert.ok(want.grads.size > 0 && [...want.grads.keys()].every((name) => name.includes('lora_')), 'the adapter alone trains');
  assertGradientsClose(got.grads, want.grads, 1e-5, 'adapter under checkpointing and chunks');
  for (const m of [plain, lean, base]) m.dispose();
});

test('logitsChunkRows: rounded to multiples of 64, Infinity never chunks, bad values are a ConfigError', async () => {
  const be = await backend();
  const model = await loaded(be, 'llama');
  const tokens = longBatch(5);
  model.logitsChunkRows = 100;
  model.forward(tokens);
  assert.throws(() => model.logits, /chunks of 64 rows \(logitsChunkRows 100\)/);
  model.logitsChunkRows = 128;
  model.forward(tokens);
  assert.is(model.logits.shape[0], 120, '128 rows ≥ B·T: whole logits');
  model.logitsChunkRows = Infinity;
  model.forward(tokens);
  assert.is(model.logits.shape[0], 120);
  for (const bad of [0, -64, 1.5, Number.NaN]) assert.throws(() => (model.logitsChunkRows = bad), (e: unknown) => (e as { code?: string }).code === 'CONFIG', `logitsChunkRows ${bad}`);
  assert.is(model.clone().logitsChunkRows, Infinity, 'clone() keeps the setting');
  model.dispose();
});

test('trainingMemory counts checkpointing and chunking, and tracks the peak the backend measures within 2%', async () => {
  const be = await backend();
  const { B, T } = { B: 3, T: 40 };
  const tokens = longBatch(6);
  const shape = await loaded(be, 'llama');
  const config = shape.config;
  shape.dispose();
  const estimates: Record<string, number> = {};
  for (const gradientCheckpointing of [false, true]) {
    for (const logitsChunkRows of ['auto', CHUNK] as const) {
      const est = trainingMemory(config, B, T, { gradientCheckpointing, logitsChunkRows });
      const before = be.memory().bytes;
      be.memoryTracker.resetPeak();
      const model = await loaded(be, 'llama', { gradientCheckpointing, logitsChunkRows });
      const opt = new AdamW(model);
      await lmStep(model, tokens);
      opt.update();
      const peak = be.memory().peakBytes - before;
      opt.dispose();
      model.dispose();
      const what = `checkpointing ${gradientCheckpointing}, chunks ${logitsChunkRows}`;
      // Besides the estimate: the batch's ids, positions, masks and row indexes, the token losses and the rotary tables.
      assert.ok(Math.abs(peak - est.total) / est.total < 0.02, `${what}: estimate ${est.total} B, measured peak ${peak} B`);
      estimates[what] = est.total;
      assert.is(est.logitsRows, logitsChunkRows === 'auto' ? B * T : CHUNK);
      assert.is(est.logits, 2 * est.logitsRows * 96 * 4);
    }
  }
  const layers = trainingMemory(config, B, T).activations - trainingMemory(config, B, T, { gradientCheckpointing: true }).activations;
  assert.ok(layers > 0, 'checkpointing keeps less');
  // 'auto' chunks only past AUTO_LOGITS_BYTES: 64 MiB of logits.
  assert.is(trainingMemory(config, 1024, 512).logitsRows, Math.floor(2 ** 26 / (96 * 4) / 64) * 64);
  assert.is(trainingMemory(config, 4, 128).logitsRows, 512);
});

test('gradient_checkpointing: a TrainingArguments key, on the command line too, that the trainers set on the models they train', async () => {
  const be = await backend();
  assert.is(sftConfig().gradient_checkpointing, false);
  const config = sftConfig({ ...configFlags(SFT_CONFIG, ['--gradient_checkpointing', 'true']).values, max_steps: 2, per_device_train_batch_size: 4, learning_rate: 1e-3, max_length: 16 });
  assert.is(config.gradient_checkpointing, true);
  const r = rng(7);
  const train = Array.from({ length: 8 }, () => ({ prompt: PROMPT, completion: randomLetters(r, 6) }));
  const trained: Float32Array[] = [];
  for (const gradient_checkpointing of [false, true]) {
    const model = CausalLM.create(be, TOY_LLAMA_CONFIG, { seed: 3 });
    const trainer = new SFTTrainer({ model, tokenizer: toyTokenizer, config: { ...config, gradient_checkpointing }, train });
    assert.is(model.gradientCheckpointing, gradient_checkpointing);
    await trainer.train();
    trained.push(await be.read(model.params));
    model.dispose();
  }
  assert.equal(trained[1], trained[0], 'two SFT steps with and without checkpointing: the same weights');
});

test.run();
