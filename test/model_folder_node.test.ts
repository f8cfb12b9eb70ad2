// Model folders on Node's filesystem: directories, file: URLs, atomic writes.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CheckpointError, directoryFolder, loadModelFolder, saveModelFolder, type GPTConfig } from 'webrlhf';
import { gpt2Tensors } from './harness/checkpoint.js';

const test = suite('model folder (node fs)');

const tiny: GPTConfig = { n_embd: 8, n_layer: 1, n_head: 2, n_positions: 8, vocab_size: 5, layer_norm_epsilon: 1e-5 };
let root = '';

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'webrlhf-io-'));
});

test.after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

test('saves into a new nested directory, loads by path and by file: URL, leaves no .tmp', async () => {
  const dir = join(root, 'runs', 'a', 'gpt2');
  const tensors = gpt2Tensors(tiny);
  await saveModelFolder(dir, { ...tiny, note: 'kept' }, tensors);
  assert.equal((await readdir(dir)).sort(), ['config.json', 'model.safetensors']);
  for (const where of [dir, pathToFileURL(dir), pathToFileURL(dir).href, directoryFolder(dir)]) {
    const loaded = await loadModelFolder(where);
    assert.is(loaded.config.note, 'kept');
    assert.equal([...loaded.tensors.keys()], tensors.map((t) => t.name));
    assert.equal([...loaded.tensors.get('h.0.attn.c_attn.weight')!.data], [...tensors[4]!.data]);
  }
  // Saving again replaces both files, and again leaves nothing else.
  const again = gpt2Tensors(tiny).map((t) => ({ ...t, data: t.data.map((v) => v * 2) }));
  await saveModelFolder(dir, tiny, again);
  assert.equal((await readdir(dir)).sort(), ['config.json', 'model.safetensors']);
  const loaded = await loadModelFolder(dir);
  assert.is(loaded.config.note, undefined);
  assert.equal([...loaded.tensors.get('wte.weight')!.data], [...again[0]!.data]);
});

test('a write that fails leaves the old files whole and reports the file', async () => {
  const dir = join(root, 'fail');
  await saveModelFolder(dir, tiny, gpt2Tensors(tiny));
  const before = { weights: await readFile(join(dir, 'model.safetensors')), config: await readFile(join(dir, 'config.json')) };
  // A directory where the .tmp must go makes the write fail before the rename.
  await mkdir(join(dir, 'model.safetensors.tmp'));
  const changed = gpt2Tensors(tiny).map((t) => ({ ...t, data: t.data.map((v) => v + 1) }));
  try {
    await saveModelFolder(dir, tiny, changed);
    assert.unreachable('the save should have failed');
  } catch (e) {
    assert.ok(e instanceof CheckpointError, String(e));
    assert.is(e.file, 'model.safetensors');
    assert.match(e.message, /could not write model\.safetensors to directory .*fail/);
  }
  assert.ok(Buffer.from(before.weights).equals(await readFile(join(dir, 'model.safetensors'))), 'model.safetensors unchanged');
  assert.ok(Buffer.from(before.config).equals(await readFile(join(dir, 'config.json'))), 'config.json unchanged');
  await rm(join(dir, 'model.safetensors.tmp'), { recursive: true });
});

test('a half-written .tmp from a crash is ignored by load and replaced by the next save', async () => {
  const dir = join(root, 'crash');
  const tensors = gpt2Tensors(tiny);
  await saveModelFolder(dir, tiny, tensors);
  await writeFile(join(dir, 'model.safetensors.tmp'), new Uint8Array(13)); // what a crash mid-write leaves
  await writeFile(join(dir, 'config.json.tmp'), '{"n_emb');
  const loaded = await loadModelFolder(dir);
  assert.equal([...loaded.tensors.get('ln_f.bias')!.data], [...tensors.at(-1)!.data]);
  await saveModelFolder(dir, tiny, tensors);
  assert.equal((await readdir(dir)).sort(), ['config.json', 'model.safetensors']);
});

test('nothing is created when the input is invalid; a missing folder is named', async () => {
  const dir = join(root, 'never');
  const bad = gpt2Tensors(tiny).map((t, i) => (i === 0 ? { ...t, shape: [1, 1] } : t));
  try {
    await saveModelFolder(dir, tiny, bad);
    assert.unreachable('the save should have failed');
  } catch (e) {
    assert.ok(e instanceof CheckpointError && e.tensor === 'wte.weight', String(e));
  }
  assert.not.ok(existsSync(dir), 'no directory was created');
  try {
    await loadModelFolder(dir);
    assert.unreachable('the load should have failed');
  } catch (e) {
    assert.ok(e instanceof CheckpointError && e.file === 'config.json', String(e));
    assert.match(e.message, /config\.json not found in directory .*never/);
  }
});

test.run();
