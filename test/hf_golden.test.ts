// Golden outputs of Hugging Face transformers itself (test/fixtures/make_hf_tiny_models.py):
// a tiny random model of each family, saved by save_pretrained, and its logits, loss and
// every gradient on a padded batch. webrlhf loads each folder as published and must match
// them on every backend; it also saves a folder that loads back to the same model.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generate, loadModel, memoryFolder, parseSafetensors, resolveFolderSource, saveModel, type CausalLM, type TokenBatch } from 'webrlhf';
import { assertGoldenGradients, fixtureFolder, GOLDEN_TOLERANCE, HF_FAMILIES, hfFixture, relativeError } from './harness/hf_fixtures.js';
import { legBackendInstance as backend } from './harness/runtime.js';

const test = suite('hf golden');

const FAMILIES = HF_FAMILIES;
const TOLERANCE = GOLDEN_TOLERANCE;

const folder = (family: string) => fixtureFolder(`hf-tiny/${family}`);
const fixture = (family: string) => hfFixture(`hf-tiny/${family}`);

async function lossAndGradients(model: CausalLM, tokens: TokenBatch) {
  model.zeroGrad();
  model.forward(tokens);
  const loss = (await model.backend.read(model.lmLoss()))[0]!;
  model.backward({ lm: true });
  return { loss, logits: await model.backend.read(model.logits), grads: await model.readGradients() };
}

for (const family of FAMILIES) {
  test(`${family}: logits, loss and every gradient match transformers on a padded batch`, async () => {
    const be = await backend();
    const model = await loadModel(be, folder(family));
    const { tokens, mask, golden } = await fixture(family);
    const got = await lossAndGradients(model, tokens);
    const V = model.arch.vocabSize;
    // Padding positions attend to nothing: transformers gives them arbitrary logits, webrlhf zeros.
    const logitsError = relativeError(got.logits, golden.get('logits')!.data, (i) => mask[Math.floor(i / V)] === 1);
    assert.ok(logitsError < TOLERANCE, `logits: relative error ${logitsError}`);
    const wantLoss = golden.get('loss')!.data[0]!;
    assert.ok(Math.abs(got.loss - wantLoss) / wantLoss < TOLERANCE, `loss ${got.loss}, transformers ${wantLoss}`);
    assertGoldenGradients(model, got.grads, golden);
    model.dispose();
  });
}

test('a folder webrlhf saves loads back with the same config keys, tensors and logits', async () => {
  const be = await backend();
  for (const family of ['llama', 'qwen3'] as const) {
    const model = await loadModel(be, folder(family));
    const out = memoryFolder();
    await saveModel(model, out);
    const config = JSON.parse(new TextDecoder().decode(out.files.get('config.json')!)) as Record<string, unknown>;
    const original = JSON.parse(new TextDecoder().decode((await resolveFolderSource(folder(family)).read('config.json'))!)) as Record<string, unknown>;
    // Every key transformers wrote comes back; only the weights' dtype changes (f32 now).
    for (const [k, v] of Object.entries(original)) if (k !== 'dtype') assert.equal(config[k], v, `${family} config.json: ${k}`);
    const names = [...parseSafetensors(out.files.get('model.safetensors')!, 'model.safetensors').keys()].sort();
    const published = [...parseSafetensors((await resolveFolderSource(folder(family)).read('model.safetensors'))!, 'model.safetensors').keys()].sort();
    assert.equal(names, published, `${family}: the tensor names transformers wrote`);
    const reloaded = await loadModel(be, out);
    const { tokens } = await fixture(family);
    model.forward(tokens);
    reloaded.forward(tokens);
    assert.equal(await be.read(reloaded.logits), await be.read(model.logits));
    model.dispose();
    reloaded.dispose();
  }
});

test('every family: KV-cache generation = full forward passes (greedy argmax and sampled), and generation_config.json sets the defaults', async () => {
  const be = await backend();
  // Prompts of different lengths, so the batch is left-padded.
  const prompts = [[5, 17, 42, 8, 9], [61, 3], [7, 7, 30]];
  for (const family of FAMILIES) {
    const model = await loadModel(be, folder(family));
    const greedy = await generate(model, prompts, { do_sample: false, max_new_tokens: 6, eos_token_id: null });
    for (const [i, prompt] of prompts.entries()) {
      const ids = [...prompt];
      for (let s = 0; s < 6; s++) {
        model.forward({ inputIds: [ids] });
        const V = model.arch.vocabSize;
        const row = (await be.read(model.logits)).subarray((ids.length - 1) * V, ids.length * V);
        const best = row.indexOf(Math.max(...row));
        assert.is(greedy[i]!.ids[s], best, `${family}: prompt ${i} step ${s}`);
        ids.push(best);
      }
    }
    const options = { max_new_tokens: 8, temperature: 0.9, seed: 5, eos_token_id: null, top_k: 0 } as const;
    const cached = await generate(model, prompts, options);
    const uncached = await generate(model, prompts, { ...options, use_cache: false });
    assert.equal(cached.map((s) => s.ids), uncached.map((s) => s.ids), `${family}: cached and uncached samples`);
    // The fixture's generation_config.json: do_sample, temperature 0.7, top_p 0.9, max_new_tokens 16, eos 2.
    const byDefault = await generate(model, prompts);
    for (const s of byDefault) assert.ok(s.ids.length === 16 || s.ids.at(-1) === 2, `${family}: max_new_tokens 16 or EOS`);
    model.dispose();
  }
});

test.run();
