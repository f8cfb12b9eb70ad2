// `webrlhf grad`: one forward/backward of a model folder, written as safetensors.
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CausalLM, gptConfig, parseSafetensors, saveModel } from 'webrlhf';
import { main } from '../src/cli/main.js';
import { quiet } from './harness/console.js';
import { gptReference } from './harness/gpt_reference.js';
import { assertClose } from './harness/reference.js';
import { legBackend, legBackendInstance as backend } from './harness/runtime.js';

const test = suite('cli grad');

const CONFIG = gptConfig({ vocab_size: 17, n_positions: 8, n_embd: 8, n_layer: 2, n_head: 2 });

test('writes loss, logits and every gradient under its parameter name, matching the float64 reference', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'webrlhf-grad-'));
  try {
    const be = await backend();
    const model = CausalLM.create(be, CONFIG, { seed: 5 });
    await saveModel(model, join(dir, 'model'));
    const batch = { input_ids: [[1, 2, 3, 4, 5, 6], [7, 8, 9, 0, 0, 0]], labels: [[1, 2, 3, 4, 5, 6], [7, 8, 9, -100, -100, -100]], attention_mask: [[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]] };
    await writeFile(join(dir, 'batch.json'), JSON.stringify(batch));
    const out = join(dir, 'grads.safetensors');
    const { result: code, out: printed } = await quiet(() => main(['grad', '--model', join(dir, 'model'), '--batch', join(dir, 'batch.json'), '--out', out, '--backend', legBackend()]));
    assert.is(code, 0);
    assert.match(printed, /loss \d/);
    assert.equal((await readdir(dir)).sort(), ['batch.json', 'grads.safetensors', 'model'], 'no temporary file left');
    const t = parseSafetensors(await readFile(out));
    assert.equal(t.get('loss')!.shape, []);
    assert.equal(t.get('logits')!.shape, [2, 6, 17]);
    for (const spec of model.layout.specs) assert.equal(t.get(spec.name)!.shape, spec.shape, spec.name);
    // Against the float64 reference and the in-process model.
    const p = model.forward({ inputIds: batch.input_ids, labels: batch.labels, attentionMask: batch.attention_mask });
    const params = await model.readParameters();
    const ref = gptReference(CONFIG, new Map([...params].map(([k, v]) => [k, Float64Array.from(v)])), p);
    assertClose(t.get('loss')!.data, [ref.loss], { rtol: 1e-5, what: 'loss' });
    assertClose(t.get('logits')!.data, ref.logits, { rtol: 1e-4, atol: 1e-5, what: 'logits' });
    model.lmLoss();
    model.zeroGrad();
    model.backward();
    const grads = await model.readGradients();
    for (const [name, g] of grads) assert.equal([...t.get(name)!.data], [...g], name);
    model.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('missing options and bad batch files are reported, not thrown', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'webrlhf-grad-'));
  try {
    const r1 = await quiet(() => main(['grad', '--model', dir]));
    assert.is(r1.result, 1);
    assert.match(r1.err, /--batch is required/);
    await writeFile(join(dir, 'bad.json'), '{"input_ids": [[1, 2], [3]]}');
    const be = await backend();
    const model = CausalLM.create(be, CONFIG);
    await saveModel(model, join(dir, 'model'));
    model.dispose();
    const r2 = await quiet(() => main(['grad', '--model', join(dir, 'model'), '--batch', join(dir, 'bad.json'), '--out', join(dir, 'o.safetensors'), '--backend', legBackend()]));
    assert.is(r2.result, 1);
    assert.match(r2.err, /BatchError.*row 1 has 1 entries/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
