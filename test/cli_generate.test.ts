// `webrlhf generate`: a model folder with its tokenizer, written by the test.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { byteTokenizer, generate, gptConfig, saveModel, saveTokenizer } from 'webrlhf';
import { main } from '../src/cli/main.js';
import { quiet } from './harness/console.js';
import { tinyModel } from './harness/models.js';
import { legBackend, legBackendInstance as backend } from './harness/runtime.js';

const test = suite('cli generate');

const tokenizer = byteTokenizer();
const CONFIG = gptConfig({ vocab_size: tokenizer.vocabSize, n_positions: 32, n_embd: 16, n_layer: 1, n_head: 2 });

test('prints the same continuations as the library, as text and as JSON', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'webrlhf-generate-'));
  try {
    const be = await backend();
    const { model } = tinyModel(be, 3, CONFIG);
    await saveModel(model, dir);
    await saveTokenizer(tokenizer, dir);
    const args = ['generate', '--model', dir, '--prompt', 'Hello', '--prompt', 'web', '--n', '2', '--max-new-tokens', '6', '--seed', '4', '--top-p', '0.9', '--backend', legBackend()];
    const text = await quiet(() => main(args));
    assert.is(text.result, 0, text.err);
    const json = await quiet(() => main([...args, '--json']));
    assert.is(json.result, 0, json.err);
    const want = await generate(model, ['Hello', 'web'], { tokenizer, num_return_sequences: 2, max_new_tokens: 6, seed: 4, top_p: 0.9 });
    const lines = json.out.split('\n').map((l) => JSON.parse(l) as { ids: number[]; text: string; prompt: number; sample: number });
    assert.equal(lines.map((l) => l.ids), want.map((s) => s.ids));
    for (const s of want) assert.ok(text.out.includes(`${['Hello', 'web'][s.prompt]}${s.text}`), `text output has sample ${s.prompt}/${s.sample}`);
    assert.match(text.out, /4 samples, \d+ new tokens in/);
    model.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('errors name the fix: no prompt, no tokenizer files, a prompt longer than n_positions', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'webrlhf-generate-'));
  try {
    const be = await backend();
    const { model } = tinyModel(be, 3, CONFIG);
    await saveModel(model, dir);
    const noPrompt = await quiet(() => main(['generate', '--model', dir]));
    assert.is(noPrompt.result, 1);
    assert.match(noPrompt.err, /give at least one --prompt/);
    const noTokenizer = await quiet(() => main(['generate', '--model', dir, '--prompt', 'x']));
    assert.is(noTokenizer.result, 1);
    assert.match(noTokenizer.err, /TokenizerError/);
    const long = await quiet(() => main(['generate', '--model', dir, '--tokenizer', 'byte', '--prompt', 'y'.repeat(40), '--backend', legBackend()]));
    assert.is(long.result, 1);
    assert.match(long.err, /BatchError: .*n_positions = 32; shorten the prompt/);
    model.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
