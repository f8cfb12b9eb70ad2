// The Llama family's config.json as transformers 4.x and 5.x write it, and the errors a user
// meets with a folder webrlhf cannot run: an unsupported architecture, rope type, attention
// or activation, and missing or misshapen tensors.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AdamW, architectureOf, CausalLM, CheckpointError, trainingMemory, ConfigError, decoderTensors, loadModel, memoryFolder, parseSafetensors, resolveFolderSource,
  serializeSafetensors, type LlamaConfig,
} from 'webrlhf';
import { platform } from '../src/runtime/platform.js';
import { errorOf, rejectsWith } from './harness/rejects.js';
import { legBackendInstance as backend } from './harness/runtime.js';

const test = suite('llama config');

const SMOLLM2_135M: LlamaConfig = {
  model_type: 'llama', architectures: ['LlamaForCausalLM'], vocab_size: 49152, hidden_size: 576, intermediate_size: 1536,
  num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, max_position_embeddings: 8192, rms_norm_eps: 1e-5,
  rope_theta: 100000, rope_scaling: null, tie_word_embeddings: true, hidden_act: 'silu',
};

test('SmolLM2-135M: 4.x keys give its architecture, parameter count and tensor names', () => {
  const a = architectureOf(SMOLLM2_135M);
  assert.equal(
    { type: a.modelType, heads: a.heads, kv: a.kvHeads, D: a.headDim, rotary: a.rotary, tied: a.tiedHead, norm: a.norm, mlp: a.mlp },
    { type: 'llama', heads: 9, kv: 3, D: 64, rotary: { theta: 100000, scaling: null }, tied: true, norm: 'rmsnorm', mlp: 'swiglu' },
  );
  const tensors = decoderTensors(a);
  // The count transformers reports for SmolLM2-135M (num_parameters()).
  assert.is(tensors.reduce((n, t) => n + t.shape.reduce((x, y) => x * y, 1), 0), 134_515_008);
  const shapes = Object.fromEntries(tensors.map((t) => [t.name, t.shape]));
  assert.equal(shapes['model.embed_tokens.weight'], [49152, 576]);
  assert.equal(shapes['model.layers.29.self_attn.k_proj.weight'], [192, 576]);
  assert.equal(shapes['model.layers.0.mlp.gate_proj.weight'], [1536, 576]);
  assert.equal(shapes['model.norm.weight'], [576]);
  assert.not.ok('lm_head.weight' in shapes, 'tied: no lm_head.weight');
});

test('transformers 5.x keys (rope_parameters) mean the same as 4.x keys (rope_theta, rope_scaling)', () => {
  const scaling = { factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
  const v4 = architectureOf({ ...SMOLLM2_135M, rope_theta: 500000, rope_scaling: { rope_type: 'llama3', ...scaling } });
  const v4old = architectureOf({ ...SMOLLM2_135M, rope_theta: 500000, rope_scaling: { type: 'llama3', ...scaling } });
  const { rope_theta: _t, rope_scaling: _s, ...rest } = SMOLLM2_135M;
  const v5 = architectureOf({ ...rest, rope_parameters: { rope_type: 'llama3', rope_theta: 500000, ...scaling } });
  assert.equal(v5.rotary, { theta: 500000, scaling: { rope_type: 'llama3', rope_theta: 500000, ...scaling } });
  assert.is(v4.rotary!.theta, v5.rotary!.theta);
  assert.is(v4.rotary!.scaling!.rope_type, 'llama3');
  assert.is(v4old.rotary!.scaling!.rope_type, 'llama3');
  assert.equal(architectureOf({ ...rest, rope_parameters: { rope_type: 'default', rope_theta: 1e6 } }).rotary, { theta: 1e6, scaling: null });
});

test('Qwen2 has q/k/v biases and no o bias; Qwen3 has q/k norms and an explicit head_dim', () => {
  const qwen2 = architectureOf({ ...SMOLLM2_135M, model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'] });
  assert.equal([qwen2.qkvBias, qwen2.outputBias, qwen2.qkNorm], [true, false, false]);
  const qwen3 = architectureOf({ ...SMOLLM2_135M, model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'], head_dim: 128 });
  assert.equal([qwen3.qkvBias, qwen3.qkNorm, qwen3.headDim], [false, true, 128]);
  const names = decoderTensors(qwen3).map((t) => t.name);
  assert.ok(names.includes('model.layers.0.self_attn.q_norm.weight') && names.includes('model.layers.0.self_attn.k_norm.weight'));
  assert.equal(decoderTensors(qwen3).find((t) => t.name === 'model.layers.0.self_attn.q_proj.weight')!.shape, [9 * 128, 576]);
  // model_type alone, or architectures alone, name the family.
  assert.is(architectureOf({ ...SMOLLM2_135M, architectures: undefined }).modelType, 'llama');
  const { model_type: _m, ...noType } = SMOLLM2_135M;
  assert.is(architectureOf({ ...noType, architectures: ['Qwen2ForCausalLM'] } as unknown as LlamaConfig).modelType, 'qwen2');
});

test('unsupported architectures, rope types, attention and activations are ConfigErrors naming them', () => {
  const bad = (config: Record<string, unknown>, re: RegExp) =>
    assert.throws(() => architectureOf(config), (e: unknown) => e instanceof ConfigError && re.test((e as Error).message), String(re));
  bad({ ...SMOLLM2_135M, model_type: 'mixtral', architectures: ['MixtralForCausalLM'] }, /MixtralForCausalLM \(model_type "mixtral"\) is not supported; webrlhf runs GPT2LMHeadModel \(gpt2\), LlamaForCausalLM \(llama\), Qwen2ForCausalLM \(qwen2\), Qwen3ForCausalLM \(qwen3\)/);
  bad({ ...SMOLLM2_135M, rope_scaling: { rope_type: 'yarn', factor: 4 } }, /rope type "yarn" is not supported; webrlhf computes default and llama3/);
  bad({ ...SMOLLM2_135M, model_type: 'qwen2', use_sliding_window: true }, /sliding-window attention/);
  bad({ ...SMOLLM2_135M, hidden_act: 'gelu' }, /hidden_act is "gelu"/);
  bad({ ...SMOLLM2_135M, num_key_value_heads: 4 }, /num_key_value_heads 4 does not divide num_attention_heads 9/);
  bad({ ...SMOLLM2_135M, hidden_size: undefined }, /hidden_size is missing/);
  bad({ ...SMOLLM2_135M, rms_norm_eps: 0 }, /rms_norm_eps is 0/);
  assert.throws(() => CausalLM.create({} as never, { ...SMOLLM2_135M, model_type: 'phi3' } as never), (e: unknown) => e instanceof ConfigError && /phi3/.test((e as Error).message));
});

const fixture = platform().fs ? 'test/fixtures/hf-tiny/qwen2' : '/test/fixtures/hf-tiny/qwen2';

/** The fixture's files in memory, for editing. */
async function fixtureFiles(): Promise<Map<string, Uint8Array>> {
  const source = resolveFolderSource(fixture);
  const files = new Map<string, Uint8Array>();
  for (const name of ['config.json', 'model.safetensors']) files.set(name, (await source.read(name))!);
  return files;
}

test('missing, misshapen and extra tensors are CheckpointErrors naming the tensor; shards load as one file', async () => {
  const be = await backend();
  const files = await fixtureFiles();
  const tensors = parseSafetensors(files.get('model.safetensors')!, 'model.safetensors');
  const withTensors = (edit: (m: Map<string, { shape: number[]; data: Float32Array }>) => void) => {
    const m = new Map([...tensors].map(([k, t]) => [k, { shape: [...t.shape], data: t.data }]));
    edit(m);
    return memoryFolder(new Map([...files, ['model.safetensors', serializeSafetensors(m)]]));
  };
  const q = 'model.layers.1.self_attn.q_proj.weight';
  await rejectsWith(loadModel(be, withTensors((m) => m.delete(q))), errorOf(CheckpointError, new RegExp(`${q.replace(/\./g, '\\.')} is missing from .*needs it with shape \\[32, 32\\]`)), 'missing');
  await rejectsWith(
    loadModel(be, withTensors((m) => m.set(q, { shape: [16, 64], data: m.get(q)!.data }))),
    errorOf(CheckpointError, /q_proj\.weight has shape \[16, 64\] .* needs \[32, 32\]/),
    'misshapen',
  );
  await rejectsWith(
    loadModel(be, withTensors((m) => m.set('model.layers.2.mlp.up_proj.weight', m.get('model.layers.1.mlp.up_proj.weight')!))),
    errorOf(CheckpointError, /does not account for: model\.layers\.2\.mlp\.up_proj\.weight/),
    'extra layer',
  );
  // Two shards and an index, as transformers writes a large model.
  const names = [...tensors.keys()];
  const half = (part: string[]) => serializeSafetensors(part.map((n) => ({ name: n, shape: tensors.get(n)!.shape, data: tensors.get(n)!.data })));
  const index = { metadata: {}, weight_map: Object.fromEntries(names.map((n, i) => [n, i % 2 ? 'model-00002-of-00002.safetensors' : 'model-00001-of-00002.safetensors'])) };
  const sharded = memoryFolder(new Map([
    ['config.json', files.get('config.json')!],
    ['model.safetensors.index.json', new TextEncoder().encode(JSON.stringify(index))],
    ['model-00001-of-00002.safetensors', half(names.filter((_, i) => i % 2 === 0))],
    ['model-00002-of-00002.safetensors', half(names.filter((_, i) => i % 2 === 1))],
  ]));
  const [whole, split] = [await loadModel(be, fixture), await loadModel(be, sharded)];
  assert.equal(await be.read(split.params), await be.read(whole.params));
  whole.dispose();
  split.dispose();
});

test('trainingMemory: what one step allocates, counted before any allocation', async () => {
  const be = await backend();
  const model = await loadModel(be, fixture);
  const opt = new AdamW(model);
  const B = 3;
  const T = 9;
  model.zeroGrad();
  model.forward({ inputIds: Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => (b * 7 + t) % 90)) });
  model.lmLoss();
  model.backward({ lm: true });
  opt.update();
  const est = trainingMemory(model.config, B, T);
  const measured = model.deviceBytes + opt.state.size * 4;
  // The model also holds per-token losses and the rotary tables; the estimate leaves out those few KiB.
  assert.ok(Math.abs(measured - est.total) / est.total < 0.05, `estimate ${est.total} B, allocated ${measured} B`);
  assert.is(est.parameterCount, 18720, 'transformers counts 18,720 parameters (make_hf_tiny_models.py)');
  assert.is(est.optimizer, 2 * est.parameters);
  opt.dispose();
  model.dispose();
});

test.run();
