import { readFile } from 'node:fs/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseSafetensors } from 'webrlhf';
import { main } from '../src/cli/main.js';
import { quiet } from './harness/console.js';
import { legBackend } from './harness/runtime.js';

const test = suite('cli');

/** Runs the CLI in-process and captures what it prints. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const { result, out, err } = await quiet(() => main(argv));
  return { code: result, out, err };
}

test('info --json reports the runtime, the adapter and the auto choice', async () => {
  const { code, out } = await cli('info', '--json', '--backend', legBackend());
  assert.is(code, 0);
  const report = JSON.parse(out);
  assert.match(report.runtime, /^node \d+/);
  assert.is(report.backend.kind, legBackend());
  assert.ok(['webgpu', 'wasm'].includes(report.auto.backend));
  assert.type(report.auto.reason, 'string');
  if (legBackend() === 'webgpu') {
    assert.is(report.backends.webgpu, 'available');
    assert.ok(report.adapter.limits.maxStorageBufferBindingSize > 0);
    assert.ok(Array.isArray(report.adapter.features));
  }
});

test('info prints a readable summary', async () => {
  const { code, out } = await cli('info', '--backend', legBackend());
  assert.is(code, 0);
  assert.match(out, /runtime\s+node/);
  assert.match(out, /auto picks\s+(webgpu|wasm) \(/);
  assert.match(out, new RegExp(`backend\\s+${legBackend()}:`));
});

/** The elements of a folder's model.safetensors (written by transformers): its parameter count, counted independently of webrlhf's layout. */
async function savedParameterCount(folder: string): Promise<number> {
  const tensors = parseSafetensors(await readFile(`${folder}/model.safetensors`), folder);
  return [...tensors.values()].reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
}

test('info --model: a folder\'s architecture, parameter count and training-step memory from config.json alone', async () => {
  const { code, out } = await cli('info', '--model', 'test/fixtures/hf-tiny/qwen3', '--batch', '4', '--length', '64');
  assert.is(code, 0);
  assert.match(out, /model\s+Qwen3ForCausalLM \(qwen3\)/);
  assert.match(out, /4 heads of 12, 1 KV heads \(grouped-query\)/);
  assert.match(out, /RMSNorm \(eps 0\.00001\), rotary θ 1000000, q\/k norms/);
  assert.match(out, new RegExp(`parameters\\s+${(await savedParameterCount('test/fixtures/hf-tiny/qwen3')).toLocaleString('en-US')}\\n`));
  assert.match(out, /training step\s+batch 4 × length 64, f32 full fine-tuning with AdamW/);
  const json = JSON.parse((await cli('info', '--model_name_or_path', 'test/fixtures/hf-tiny/llama', '--json')).out);
  assert.is(json.architecture.className, 'LlamaForCausalLM');
  assert.equal([json.memory.batch, json.memory.length, json.memory.parameterCount], [2, 128, await savedParameterCount('test/fixtures/hf-tiny/llama')]);
  // Checkpointing keeps one block's tensors; chunks of 64 rows hold 64 × V logits.
  const lean = JSON.parse((await cli('info', '--model', 'test/fixtures/hf-tiny/llama', '--json', '--gradient_checkpointing', '--logits_chunk_rows', '64')).out);
  assert.ok(lean.memory.activations < json.memory.activations, `activations ${lean.memory.activations} B with checkpointing, ${json.memory.activations} B without`);
  assert.equal([lean.memory.logitsRows, lean.memory.logits, json.memory.logitsRows], [64, 2 * 64 * 96 * 4, 256]);
  const chunked = await cli('info', '--model', 'test/fixtures/hf-tiny/llama', '--logits_chunk_rows', '64', '--gradient_checkpointing');
  assert.match(chunked.out, /activations .* \(gradient checkpointing\)\n\s+logits .*in chunks of 64 rows\)/);
  const missing = await cli('info', '--model', 'test/fixtures');
  assert.is(missing.code, 1);
  assert.match(missing.err, /no config\.json there/);
});

test('unknown commands and bad backends fail with a clear message', async () => {
  const unknown = await cli('frobnicate');
  assert.is(unknown.code, 2);
  assert.match(unknown.err, /unknown command 'frobnicate'/);
  assert.match(unknown.err, /Usage: webrlhf/);
  const bad = await cli('info', '--backend', 'cuda');
  assert.is(bad.code, 1);
  assert.match(bad.err, /ConfigError: backend 'cuda' is not one of/);
});

test.run();
