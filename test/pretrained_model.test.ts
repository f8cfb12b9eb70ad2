// CausalLM models to and from Hugging Face-style folders (in memory here, so every leg runs it).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CheckpointError, CausalLM, gptConfig, loadModel, memoryFolder, parseSafetensors, saveModel, serializeSafetensors } from 'webrlhf';
import { legBackendInstance as backend } from './harness/runtime.js';

const test = suite('gpt folder');

const CONFIG = gptConfig({ vocab_size: 13, n_positions: 8, n_embd: 8, n_layer: 2, n_head: 2 });
const BATCH = { inputIds: [[1, 5, 7, 12, 0]] };

test('save then load gives the same parameters and logits; heads are found or created at zero', async () => {
  const be = await backend();
  const model = CausalLM.create(be, CONFIG, { seed: 3, heads: { score: true } });
  be.write(model.param('score.bias'), [0.5]);
  const folder = memoryFolder();
  await saveModel(model, folder);
  assert.equal([...folder.files.keys()].sort(), ['config.json', 'model.safetensors']);
  const config = JSON.parse(new TextDecoder().decode(folder.files.get('config.json')));
  assert.is(config.model_type, 'gpt2');
  assert.is(config.n_embd, 8);

  const loaded = await loadModel(be, folder);
  assert.equal(loaded.heads, { score: true, value: false });
  const [a, b] = [await model.readParameters(), await loaded.readParameters()];
  for (const [name, v] of a) assert.equal([...b.get(name)!], [...v], name);
  model.forward(BATCH);
  loaded.forward(BATCH);
  assert.equal([...(await be.read(loaded.logits))], [...(await be.read(model.logits))]);

  const withValue = await loadModel(be, folder, { heads: { value: true } });
  assert.equal([...(await be.read(withValue.param('v_head.summary.weight')))], new Array(8).fill(0));
  for (const m of [model, loaded, withValue]) m.dispose();
});

test('weights that disagree with config.json are CheckpointErrors naming the tensor', async () => {
  const be = await backend();
  const model = CausalLM.create(be, CONFIG);
  const folder = memoryFolder();
  await saveModel(model, folder);
  const weights = parseSafetensors(folder.files.get('model.safetensors')!);
  const rewrite = (edit: (m: Map<string, { shape: readonly number[]; data: Float32Array }>) => void) => {
    const copy = new Map([...weights].map(([k, v]) => [k, { shape: v.shape, data: v.data }]));
    edit(copy);
    const bad = memoryFolder(new Map(folder.files));
    bad.files.set('model.safetensors', serializeSafetensors(copy));
    return bad;
  };
  const fails = async (where: ReturnType<typeof memoryFolder>, tensor: string, re: RegExp) => {
    try {
      await loadModel(be, where);
      assert.unreachable('expected a CheckpointError');
    } catch (e) {
      assert.instance(e, CheckpointError);
      assert.is((e as CheckpointError).tensor, tensor);
      assert.match((e as Error).message, re);
    }
  };
  await fails(rewrite((m) => m.set('h.1.mlp.c_fc.weight', { shape: [8, 16], data: new Float32Array(128) })), 'h.1.mlp.c_fc.weight', /\[8, 16\]/);
  await fails(rewrite((m) => m.delete('ln_f.bias')), 'ln_f.bias', /ln_f\.bias/);
  await fails(rewrite((m) => m.set('h.2.ln_1.weight', { shape: [8], data: new Float32Array(8) })), 'h.2.ln_1.weight', /n_layer 2/);
  await fails(rewrite((m) => m.set('score.weight', { shape: [1, 8], data: new Float32Array(8) })), 'score.weight', /score\.bias/);
  model.dispose();
});

test.run();
