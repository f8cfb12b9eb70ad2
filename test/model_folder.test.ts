import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CheckpointError, ConfigError, directoryFolder, expectModelTensors, expectTensor, filesFolder, decoderTensors, architectureOf, loadModelFolder, memoryFolder,
  modelFolderFiles, parseSafetensors, saveModelFolder, serializeSafetensors, urlFolder, type FileLike, type GPTConfig, type NamedTensor,
} from 'webrlhf';
import { platform } from '../src/runtime/platform.js';
import { gpt2Tensors } from './harness/checkpoint.js';
import { rejectsWith } from './harness/rejects.js';

const test = suite('model folder');

const tiny: GPTConfig = { n_embd: 8, n_layer: 2, n_head: 2, n_positions: 16, vocab_size: 11, layer_norm_epsilon: 1e-5 };

const encode = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const file = (name: string, bytes: Uint8Array, webkitRelativePath?: string): FileLike => ({ name, webkitRelativePath, arrayBuffer: async () => bytes.slice().buffer });


const checkpointError = (file: string | undefined, tensor: string | undefined, re: RegExp) => (e: unknown) =>
  e instanceof CheckpointError && e.code === 'CHECKPOINT' && e.file === file && e.tensor === tensor && re.test(e.message);

test('decoderTensors: Hugging Face names, order and Conv1D (input-major) layouts', () => {
  const specs = decoderTensors(architectureOf(tiny));
  assert.is(specs.length, 2 + 12 * 2 + 2);
  const shape = Object.fromEntries(specs.map((s) => [s.name, s.shape]));
  assert.equal(specs.slice(0, 3).map((s) => s.name), ['wte.weight', 'wpe.weight', 'h.0.ln_1.weight']);
  assert.equal(specs.at(-1)!.name, 'ln_f.bias');
  assert.equal(shape['wte.weight'], [11, 8]);
  assert.equal(shape['wpe.weight'], [16, 8]);
  assert.equal(shape['h.1.attn.c_attn.weight'], [8, 24]);
  assert.equal(shape['h.1.attn.c_attn.bias'], [24]);
  assert.equal(shape['h.1.attn.c_proj.weight'], [8, 8]);
  assert.equal(shape['h.1.mlp.c_fc.weight'], [8, 32]);
  assert.equal(shape['h.1.mlp.c_fc.bias'], [32]);
  assert.equal(shape['h.1.mlp.c_proj.weight'], [32, 8]);
  assert.equal(shape['h.1.mlp.c_proj.bias'], [8]);
  assert.equal(decoderTensors(architectureOf({ ...tiny, n_inner: 20 })).find((s) => s.name === 'h.0.mlp.c_fc.weight')!.shape, [8, 20]);
});

test('save then load (in memory): config keys kept and completed, tensors in order and exact, format metadata', async () => {
  const folder = memoryFolder();
  const tensors = gpt2Tensors(tiny);
  await saveModelFolder(folder, { ...tiny, activation_function: 'gelu_new', custom: { a: [1, 2] } }, tensors, { metadata: { step: '7' } });
  assert.equal([...folder.files.keys()].sort(), ['config.json', 'model.safetensors']);
  const config = JSON.parse(new TextDecoder().decode(folder.files.get('config.json')));
  assert.equal(config.architectures, ['GPT2LMHeadModel']);
  assert.is(config.model_type, 'gpt2');
  assert.is(config.n_embd, 8);
  assert.equal(config.custom, { a: [1, 2] });

  const loaded = await loadModelFolder(folder);
  assert.is(loaded.location, 'memory');
  assert.is(loaded.config.activation_function, 'gelu_new');
  assert.equal(loaded.config.custom, { a: [1, 2] });
  assert.is(loaded.config.n_positions, 16);
  assert.equal(loaded.metadata, { step: '7', format: 'pt' });
  assert.equal(loaded.ignored, []);
  assert.equal([...loaded.tensors.keys()], tensors.map((t) => t.name));
  for (const t of tensors) assert.equal([...loaded.tensors.get(t.name)!.data], [...t.data], t.name);
  assert.equal(expectModelTensors(loaded.config, loaded.tensors), []);
});

test('loads a checkpoint written by transformers/safetensors (fixture): prefix stripped, lm_head and mask buffers ignored, F16 read', async () => {
  // Node and Deno read the directory; a browser fetches the same files from the test server.
  const where = platform().fs ? 'test/fixtures/tiny-gpt2-hf' : '/test/fixtures/tiny-gpt2-hf';
  const loaded = await loadModelFolder(where);
  assert.match(loaded.location, /tiny-gpt2-hf/);
  assert.is(loaded.config.n_embd, 4);
  assert.is(loaded.config.n_layer, 2);
  assert.is(loaded.config.activation_function, 'gelu_new');
  assert.equal(loaded.config.task_specific_params, { 'text-generation': { do_sample: true, max_length: 50 } });
  assert.equal(loaded.metadata, { format: 'pt' });
  assert.equal(
    [...loaded.ignored].sort(),
    ['lm_head.weight', 'transformer.h.0.attn.bias', 'transformer.h.0.attn.masked_bias', 'transformer.h.1.attn.bias', 'transformer.h.1.attn.masked_bias'],
  );
  assert.equal(expectModelTensors(loaded.config, loaded.tensors), []);
  const specs = decoderTensors(architectureOf(loaded.config));
  assert.is(loaded.tensors.size, specs.length);
  specs.forEach((s, k) => {
    const t = loaded.tensors.get(s.name)!;
    assert.is(t.dtype, 'F16', s.name);
    const expected = Array.from({ length: t.data.length }, (_, i) => (((37 * i + 11 * k) % 101) - 50) / 64);
    assert.equal([...t.data], expected, s.name);
  });
});

test('File objects: a FileList-like pick with nested duplicates, and real File objects', async () => {
  const files = modelFolderFiles(tiny, gpt2Tensors(tiny));
  const pick = [
    file('config.json', encode({ model_type: 'bert' }), 'gpt2/old/config.json'),
    file('config.json', files['config.json'], 'gpt2/config.json'),
    file('model.safetensors', files['model.safetensors'], 'gpt2/model.safetensors'),
    file('README.md', encode('hi'), 'gpt2/README.md'),
  ];
  const fromPick = await loadModelFolder(pick);
  assert.is(fromPick.config.n_embd, 8);
  assert.is(fromPick.tensors.size, decoderTensors(architectureOf(tiny)).length);
  assert.match(fromPick.location, /^files \[config.json, model.safetensors, README.md\]$/);

  const FileCtor = (globalThis as { File?: typeof File }).File;
  if (FileCtor) {
    const real = [new FileCtor([files['model.safetensors'].slice()], 'model.safetensors'), new FileCtor([files['config.json'].slice()], 'config.json')];
    const loaded = await loadModelFolder(filesFolder(real));
    assert.is(loaded.tensors.size, decoderTensors(architectureOf(tiny)).length);
  }
  await rejectsWith(loadModelFolder([pick[2]!]), checkpointError('config.json', undefined, /config\.json not found in files \[model\.safetensors\]/), 'no config.json');
});

test('URL folders: files fetched relative to the base; 404 is a missing file; other HTTP errors are named', async () => {
  const files = modelFolderFiles(tiny, gpt2Tensors(tiny, 'transformer.'));
  const asked: string[] = [];
  const fakeFetch = (status: number) => (async (input: RequestInfo | URL) => {
    const url = String(input);
    asked.push(url);
    const name = url.slice(url.lastIndexOf('/') + 1) as keyof typeof files;
    if (name === 'model.safetensors' && status !== 200) return new Response('no', { status, statusText: 'Oops' });
    return files[name] ? new Response(files[name].slice()) : new Response('missing', { status: 404 });
  }) as typeof fetch;
  const loaded = await loadModelFolder(urlFolder('https://models.example/gpt2', { fetch: fakeFetch(200) }));
  assert.equal(asked, ['https://models.example/gpt2/config.json', 'https://models.example/gpt2/generation_config.json', 'https://models.example/gpt2/model.safetensors']);
  assert.is(loaded.location, 'https://models.example/gpt2/');
  assert.ok(loaded.tensors.has('h.1.mlp.c_proj.bias'), 'the transformer. prefix is stripped');
  await rejectsWith(
    loadModelFolder(urlFolder('https://models.example/gpt2/', { fetch: fakeFetch(404) })),
    checkpointError('model.safetensors', undefined, /model\.safetensors not found in https:\/\/models\.example\/gpt2\/ \(nor model\.safetensors\.index\.json\).*pytorch_model\.bin/),
    '404',
  );
  await rejectsWith(
    loadModelFolder(urlFolder('https://models.example/gpt2/', { fetch: fakeFetch(500) })),
    checkpointError('model.safetensors', undefined, /fetching https:\/\/models\.example\/gpt2\/model\.safetensors failed with HTTP 500 Oops/),
    '500',
  );
});

test('sharded checkpoints: model.safetensors.index.json and its shards', async () => {
  const tensors = gpt2Tensors(tiny, 'transformer.');
  const a = tensors.slice(0, 10);
  const b = tensors.slice(10);
  const shardA = 'model-00001-of-00002.safetensors';
  const shardB = 'model-00002-of-00002.safetensors';
  const index = { metadata: { total_size: 0 }, weight_map: Object.fromEntries([...a.map((t) => [t.name, shardA]), ...b.map((t) => [t.name, shardB])]) };
  const folder = memoryFolder(new Map([
    ['config.json', encode(tiny)],
    ['model.safetensors.index.json', encode(index)],
    [shardA, serializeSafetensors(a, { format: 'pt' })],
    [shardB, serializeSafetensors(b, { format: 'pt' })],
  ]));
  const loaded = await loadModelFolder(folder);
  assert.equal(expectModelTensors(loaded.config, loaded.tensors), []);
  assert.equal([...loaded.tensors.keys()], tensors.map((t) => t.name.slice('transformer.'.length)));
  folder.files.delete(shardB);
  await rejectsWith(loadModelFolder(folder), checkpointError(shardB, undefined, /model-00002-of-00002\.safetensors not found in memory, but model\.safetensors\.index\.json lists it/), 'missing shard');
});

test('bad config.json: CheckpointError naming config.json and the key', async () => {
  const weights = serializeSafetensors(gpt2Tensors(tiny));
  const load = (config: unknown) => loadModelFolder(memoryFolder(new Map([['config.json', encode(config)], ['model.safetensors', weights]])));
  await rejectsWith(load('{"n_embd": 8,'), checkpointError('config.json', undefined, /config\.json is not valid JSON/), 'json');
  await rejectsWith(load([1]), checkpointError('config.json', undefined, /config\.json: it is an array, not a JSON object/), 'array');
  await rejectsWith(load({ ...tiny, model_type: 'llama' }), checkpointError('config.json', undefined, /config\.json: hidden_size is missing/), 'llama keys');
  await rejectsWith(
    load({ ...tiny, model_type: 'mixtral', architectures: ['MixtralForCausalLM'] }),
    checkpointError('config.json', undefined, /MixtralForCausalLM \(model_type "mixtral"\) is not supported; webrlhf runs GPT2LMHeadModel \(gpt2\), LlamaForCausalLM \(llama\), Qwen2ForCausalLM \(qwen2\), Qwen3ForCausalLM \(qwen3\)/),
    'unsupported architecture',
  );
  await rejectsWith(load({ ...tiny, n_layer: undefined }), checkpointError('config.json', undefined, /n_layer is missing; it must be a positive integer/), 'n_layer');
  await rejectsWith(load({ ...tiny, n_head: 3 }), checkpointError('config.json', undefined, /n_embd 8 is not divisible by n_head 3/), 'heads');
  await rejectsWith(load({ ...tiny, layer_norm_epsilon: -1 }), checkpointError('config.json', undefined, /layer_norm_epsilon is -1/), 'eps');
  // Old configs: n_ctx stands for n_positions; layer_norm_epsilon defaults to 1e-5.
  const old = await load({ n_embd: 8, n_layer: 2, n_head: 2, n_ctx: 16, vocab_size: 11 });
  assert.is(old.config.n_positions, 16);
  assert.is(old.config.layer_norm_epsilon, 1e-5);
});

test('bad weights: duplicate names after the prefix is stripped, corrupt files named', async () => {
  const tensors = gpt2Tensors(tiny);
  const dup = serializeSafetensors([...tensors, { ...tensors[0]!, name: 'transformer.wte.weight' }]);
  const folder = memoryFolder(new Map([['config.json', encode(tiny)], ['model.safetensors', dup]]));
  await rejectsWith(loadModelFolder(folder), checkpointError('model.safetensors', 'wte.weight', /transformer\.wte\.weight in model\.safetensors and wte\.weight both name the tensor wte\.weight/), 'dup');
  const good = serializeSafetensors(tensors);
  folder.files.set('model.safetensors', good.subarray(0, good.length - 3));
  await rejectsWith(loadModelFolder(folder), checkpointError('model.safetensors', 'ln_f.bias', /ln_f\.bias in model\.safetensors.*truncated.*\(model folder: memory\)$/), 'truncated');
});

test('save checks everything before writing anything', async () => {
  const folder = memoryFolder();
  const tensors = gpt2Tensors(tiny);
  await rejectsWith(saveModelFolder(folder, { ...tiny, n_head: 3 }, tensors), (e) => e instanceof ConfigError && /n_embd 8 is not divisible by n_head 3/.test(e.message), 'config');
  const bad = tensors.map((t, i) => (i === 3 ? { ...t, shape: [7] } : t));
  await rejectsWith(saveModelFolder(folder, tiny, bad), checkpointError(undefined, tensors[3]!.name, /shape \[7\] has 7 elements but its data has 8/), 'tensor');
  assert.is(folder.files.size, 0);
  // A failing write is a CheckpointError naming the file and the folder.
  const broken = { location: 'broken disk', write: async () => { throw new Error('EIO: i/o error'); } };
  await rejectsWith(saveModelFolder(broken, tiny, tensors), checkpointError('model.safetensors', undefined, /could not write model\.safetensors to broken disk: EIO/), 'write');
});

test('expectTensor names the tensor, both shapes, the file and the config keys', () => {
  const loaded = parseSafetensors(serializeSafetensors(gpt2Tensors({ ...tiny, n_embd: 6, n_head: 2 })));
  assert.throws(
    () => expectModelTensors(tiny, loaded),
    (e: unknown) => e instanceof CheckpointError && e.tensor === 'wte.weight' && e.file === 'model.safetensors' &&
      e.message.startsWith('wte.weight has shape [11, 6] in model.safetensors, but config.json (vocab_size 11, n_embd 8) needs [11, 8]'),
  );
  assert.throws(
    () => expectTensor(loaded, 'h.0.attn.c_attn.weight', [8, 24], 'ckpt/model.safetensors', 'n_embd 8'),
    (e: unknown) => e instanceof CheckpointError &&
      e.message.startsWith('h.0.attn.c_attn.weight has shape [6, 18] in ckpt/model.safetensors, but config.json (n_embd 8) needs [8, 24]'),
  );
  assert.throws(
    () => expectTensor(loaded, 'h.5.ln_1.weight', [6], undefined, 'n_layer 6'),
    (e: unknown) => e instanceof CheckpointError && e.tensor === 'h.5.ln_1.weight' && /h\.5\.ln_1\.weight is missing from model\.safetensors; config\.json \(n_layer 6\) needs it with shape \[6\]/.test(e.message),
  );
  const prefixed = new Map([['transformer.ln_f.bias', { shape: [6], data: new Float32Array(6) }]]);
  assert.throws(() => expectTensor(prefixed, 'ln_f.bias', [6]), (e: unknown) => e instanceof CheckpointError && /It has transformer\.ln_f\.bias: are the names prefixed differently\?/.test(e.message));
  assert.is(expectTensor(loaded, 'ln_f.bias', [6]).length, 6);
  const extra = new Map(loaded);
  extra.set('h.9.ln_1.weight', { dtype: 'F32', shape: [6], data: new Float32Array(6) });
  assert.equal(expectModelTensors({ ...tiny, n_embd: 6 }, extra), ['h.9.ln_1.weight']);
});

if (platform().fs === undefined) {
  test('browsers: no filesystem, so a directory is a ConfigError and a plain string is a URL relative to the page', async () => {
    await rejectsWith(saveModelFolder('out/gpt2', tiny, []), (e) => e instanceof ConfigError && /no filesystem/.test(e.message), 'save');
    assert.throws(() => directoryFolder('out/gpt2'), (e: unknown) => e instanceof ConfigError && /urlFolder/.test(e.message));
    const loaded = await loadModelFolder('fixtures/tiny-gpt2-hf'); // the page is /test/browser.html
    assert.match(loaded.location, /^http:\/\/127\.0\.0\.1:\d+\/test\/fixtures\/tiny-gpt2-hf\/$/);
    assert.is(loaded.config.n_layer, 2);
  });
}

const deno = (globalThis as { Deno?: { makeTempDir(): Promise<string>; remove(p: string, o: { recursive: boolean }): Promise<void>; readDir(p: string): AsyncIterable<{ name: string }> } }).Deno;
if (deno) {
  test('Deno: save to a new directory, load it back, no .tmp left behind', async () => {
    const dir = await deno.makeTempDir();
    try {
      const tensors = gpt2Tensors(tiny);
      await saveModelFolder(`${dir}/a/b`, tiny, tensors);
      await saveModelFolder(`${dir}/a/b`, tiny, tensors); // over the old files
      const names: string[] = [];
      for await (const e of deno.readDir(`${dir}/a/b`)) names.push(e.name);
      assert.equal(names.sort(), ['config.json', 'model.safetensors']);
      const loaded = await loadModelFolder(`${dir}/a/b`);
      assert.is(loaded.location, `directory ${dir}/a/b`);
      assert.equal([...loaded.tensors.get('h.1.mlp.c_fc.weight')!.data], [...tensors.find((t) => t.name === 'h.1.mlp.c_fc.weight')!.data]);
      await rejectsWith(loadModelFolder(`${dir}/nowhere`), checkpointError('config.json', undefined, /config\.json not found in directory/), 'missing');
    } finally {
      await deno.remove(dir, { recursive: true });
    }
  });
}

test.run();
