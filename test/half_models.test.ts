// Models whose weights are stored in bf16 or f16 (ModelOptions.dtype, loadModel's dtype): the
// same logits as an f32 model whose matrices were rounded the same way, logits within a
// bf16-sized distance of the f32 model, half the memory for the matrices, frozen, and
// generation with the KV cache.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CausalLM, DTypeError, ParameterStore, TensorStateError, generate, loadModel, resolveFolderSource, roundTo,
  type DType, type TokenBatch,
} from 'webrlhf';
import { platform } from '../src/runtime/platform.js';
import { rng } from './harness/reference.js';
import { legBackendInstance as backend } from './harness/runtime.js';

const test = suite('half models');

const folder = (family: string) => (platform().fs ? `test/fixtures/hf-tiny/${family}` : `/test/fixtures/hf-tiny/${family}`);

async function batchOf(family: string): Promise<{ tokens: TokenBatch; mask: number[] }> {
  const source = resolveFolderSource(folder(family));
  const batch = JSON.parse(new TextDecoder().decode(await source.read('batch.json'))) as { input_ids: number[][]; attention_mask: number[][]; labels: number[][] };
  return { tokens: { inputIds: batch.input_ids, attentionMask: batch.attention_mask, labels: batch.labels }, mask: batch.attention_mask.flat() };
}

/** max |a − b| over the real tokens' logits, and max |b| there. */
function distance(a: Float32Array, b: Float32Array, mask: number[], V: number): { diff: number; scale: number } {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    if (mask[Math.floor(i / V)] !== 1) continue;
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return { diff, scale };
}

async function logitsOf(model: CausalLM, tokens: TokenBatch): Promise<Float32Array> {
  model.forward(tokens);
  return model.backend.read(model.logits);
}

const CASES: [string, DType][] = [['llama', 'bf16'], ['gpt2', 'bf16'], ['llama', 'f16']];
for (const [family, dtype] of CASES) {
  test(`${family} in ${dtype}: the logits of the f32 model with its matrices rounded to ${dtype}, close to the f32 model's; frozen; half the memory`, async () => {
    const be = await backend();
    const { tokens, mask } = await batchOf(family);
    const f32 = await loadModel(be, folder(family));
    const half = await loadModel(be, folder(family), { dtype });
    assert.is(half.params.dtype, dtype);
    // The f32 model with the matrices rounded on the host: the same values, read as f32.
    const weights = await f32.readParameters();
    const rounded = CausalLM.fromWeights(be, f32.config, (s) => (s.decay ? roundTo(weights.get(s.name)!, dtype) : weights.get(s.name)), { heads: f32.heads });
    const V = f32.arch.vocabSize;
    const [exact, got] = [await logitsOf(rounded, tokens), await logitsOf(half, tokens)];
    const same = distance(got, exact, mask, V);
    assert.ok(same.diff <= 1e-5 * same.scale + 1e-6, `${dtype} model vs f32 with rounded matrices: max difference ${same.diff} (scale ${same.scale})`);
    // Against f32: the fixtures' weights may already be on the bf16 grid (saved in BF16), so
    // move them off it (relative steps of about 2⁻¹⁰) to make the rounding count.
    const r = rng(7);
    const fine = new Map([...weights].map(([name, w]) => [name, w.map((v) => v * (1 + (r() - 0.5) * 2 ** -9))]));
    const fineF32 = CausalLM.fromWeights(be, f32.config, (s) => fine.get(s.name));
    const fineHalf = CausalLM.fromWeights(be, f32.config, (s) => fine.get(s.name), { dtype });
    const near = distance(await logitsOf(fineHalf, tokens), await logitsOf(fineF32, tokens), mask, V);
    // Rounding each weight by ≤ 2⁻⁹ (bf16) or 2⁻¹² (f16) relative moves these tiny models' logits by a few percent at most.
    assert.ok(near.diff <= (dtype === 'bf16' ? 5e-2 : 1e-2) * near.scale, `${dtype} model vs f32: max difference ${near.diff} (scale ${near.scale})`);
    assert.ok(near.diff > 0, 'the rounding changed the logits (a test that cannot fail otherwise)');
    // What the 16-bit model reads back is the rounded weights.
    const back = await half.readParameters();
    for (const s of half.layout.specs) assert.equal([...back.get(s.name)!], [...(s.decay ? roundTo(weights.get(s.name)!, dtype) : weights.get(s.name)!)], s.name);
    // Frozen: the loss and log-probs run, backward does not.
    assert.ok(half.frozen);
    const loss = (await be.read(half.lmLoss()))[0]!;
    assert.ok(Number.isFinite(loss), `loss ${loss}`);
    const { logprobs } = half.tokenLogprobs();
    assert.ok((await be.read(logprobs)).every((v) => Number.isFinite(v) || Number.isNaN(v)));
    assert.throws(() => half.backward({ lm: true }), (e: unknown) => e instanceof TensorStateError && /frozen/.test(e.message));
    assert.throws(() => half.clone(), (e: unknown) => e instanceof DTypeError);
    // Memory: the matrices in 2 bytes each, the vectors in 4.
    const matrices = half.layout.decayEnd;
    assert.is(half.params.bytes, matrices * 2);
    assert.ok(half.params.bytes < f32.params.bytes / 2 + 1024, `${half.params.bytes} bytes of matrices vs ${f32.params.bytes} for the whole f32 model`);
    for (const m of [f32, half, rounded, fineF32, fineHalf]) m.dispose();
  });
}

test('a bf16 model with a score head scores; generation runs with the KV cache and matches the uncached path', async () => {
  const be = await backend();
  const model = await loadModel(be, folder('llama'), { dtype: 'bf16', heads: { score: true } });
  const { tokens } = await batchOf('llama');
  model.forward(tokens, { logits: false });
  const scores = await be.read(model.scores());
  assert.is(scores.length, tokens.inputIds.length);
  const prompts = [[1, 5, 9, 2], [3, 4]];
  const options = { do_sample: false, max_new_tokens: 6, eos_token_id: null };
  const cached = await generate(model, prompts, options);
  const uncached = await generate(model, prompts, { ...options, use_cache: false });
  assert.is(cached.length, 2);
  assert.equal(cached.map((s) => s.ids), uncached.map((s) => s.ids));
  assert.ok(cached.every((s) => s.ids.length === 6));
  model.dispose();
});

test('ParameterStore in bf16: matrices in 16 bits, vectors in f32, no gradients', async () => {
  const be = await backend();
  const store = ParameterStore.create(be, [
    { name: 'w', shape: [3, 5], init: { kind: 'normal', std: 1 } },
    { name: 'b', shape: [5], init: { kind: 'ones' } },
    { name: 'v', shape: [7, 2], init: { kind: 'normal', std: 1 } },
  ], 3, { dtype: 'bf16' });
  assert.is(store.layout.specs.find((s) => s.name === 'v')!.offset, 128, 'matrices at 128-element boundaries');
  assert.is(store.param('w').dtype, 'bf16');
  assert.is(store.param('b').dtype, 'f32');
  const values = await store.readParameters();
  assert.equal([...values.get('b')!], [1, 1, 1, 1, 1]);
  assert.equal([...values.get('v')!], [...roundTo(values.get('v')!, 'bf16')]);
  assert.equal([...(await be.read(store.param('w')))], [...values.get('w')!]);
  assert.throws(() => store.grads, (e: unknown) => e instanceof DTypeError && /frozen/.test(e.message));
  store.dispose();
});

test.run();
