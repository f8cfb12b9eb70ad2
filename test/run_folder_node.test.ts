// Crash safety of run folders, for real: a small trainer runs in a child process (through the
// built package, as users run it), is SIGKILLed during training or in the middle of a
// checkpoint write, and is resumed. Nothing complete may be lost, and the resumed run must
// leave exactly the files an uninterrupted run leaves.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CHECKPOINT_PAUSE_ENV } from 'webrlhf';
import { main } from '../src/cli/main.js';
import { quiet } from './harness/console.js';
import { runNode, sameTree, tree, type ChildResult } from './harness/child.js';

const test = suite('run folder (crash and resume)');

const TOTAL = 12;
const SAVE_STEPS = 3;

/**
 * The trainer: a tiny CausalLM on token sequences chosen by a counter-based RNG kept in the trainer
 * state, a metrics line and a rollout line per step, a checkpoint every SAVE_STEPS steps,
 * final/ at the end. argv: run folder, "resume" or "new".
 */
const TRAINER = (pkg: string) => `
import { AdamW, CausalLM, byteTokenizer, createRuntime, gptConfig, lmTrainStep, openRun, philoxUniforms, tokenizerFiles } from ${JSON.stringify(pkg)};
const [dir, mode] = process.argv.slice(2);
const rt = await createRuntime({ backend: 'wasm' });
const tokenizer = byteTokenizer(); // saved with each checkpoint, for webrlhf generate
const config = gptConfig({ vocab_size: tokenizer.vocabSize, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 });
const model = CausalLM.create(rt.backend, config, { seed: 1, heads: { value: true } });
const optimizer = new AdamW(model, { lr: 0.02 });
const run = await openRun(dir, { config: { total: ${TOTAL}, save_steps: ${SAVE_STEPS} }, resume: mode === 'resume' });
const parts = { models: { policy: model }, optimizers: { policy: optimizer }, extraFiles: tokenizerFiles(tokenizer) };
let state = { step: 0, rng: { seed: 5, counter: 0 } };
if (run.resumeFrom) state = await run.restore(run.resumeFrom, parts);
console.log('start ' + state.step + ' cleaned ' + JSON.stringify(run.cleanedUp));
for (let step = state.step + 1; step <= ${TOTAL}; step++) {
  // A counting sequence from a random start: learnable, and the RNG's position matters.
  const [u] = philoxUniforms(1, { seed: state.rng.seed, stream: 0, offset: state.rng.counter });
  const ids = [0, 1, 2, 3, 4, 5].map((i) => (Math.floor(u * 8) + i) % 8);
  state.rng.counter++;
  const { loss, gradNorm } = await lmTrainStep(model, optimizer, { inputIds: [ids] });
  state.step = step;
  await run.log(step, { loss, grad_norm: gradNorm });
  await run.logRollouts(step, [{ prompt: ids.slice(0, 3), response: ids.slice(3), score: loss }]);
  console.log('step ' + step);
  if (step % ${SAVE_STEPS} === 0) await run.saveCheckpoint(step, { ...parts, state });
}
await run.saveFinal({ models: { policy: model }, extraFiles: tokenizerFiles(tokenizer) });
console.log('done');
rt.dispose();
`;

let root = '';
let script = '';
let straight = ''; // the uninterrupted run

/** Runs the trainer; `killWhen` is checked on each output and every 10 ms, and SIGKILLs it when true. */
function trainer(dir: string, mode: 'new' | 'resume', options: { env?: Record<string, string>; killWhen?: (out: string) => boolean } = {}): Promise<ChildResult> {
  return runNode([script, dir, mode], options);
}

const only = (files: Map<string, Buffer>, prefix: string) => new Map([...files].filter(([k]) => k.startsWith(prefix)));

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'webrlhf-runs-'));
  script = join(root, 'trainer.mjs');
  const pkg = resolve('dist/node/index.js'); // built by test/run.mjs before the suites
  assert.ok(existsSync(pkg), `${pkg} is missing: run the tests through npm test, which builds it`);
  await writeFile(script, TRAINER(pathToFileURL(pkg).href));
  straight = join(root, 'straight');
  const r = await trainer(straight, 'new');
  assert.is(r.code, 0, `the uninterrupted run failed: ${r.err}`);
});

test.after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

test('the uninterrupted run: its folder, and the same files when run again (the comparison is meaningful)', async () => {
  const files = await tree(straight);
  assert.equal([...new Set([...files.keys()].map((k) => k.split('/')[0]))], [
    'checkpoint-00000003', 'checkpoint-00000006', 'checkpoint-00000009', 'checkpoint-00000012', 'config.json', 'final', 'metrics.jsonl', 'rollouts.jsonl',
  ]);
  const metrics = files.get('metrics.jsonl')!.toString().trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(metrics.map((m) => m.step), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  assert.ok(metrics.every((m) => Number.isFinite(m.loss) && Number.isFinite(m.grad_norm)));
  assert.ok(metrics[11].loss < metrics[0].loss, 'it trains');
  const again = join(root, 'again');
  assert.is((await trainer(again, 'new')).code, 0);
  sameTree(await tree(again), files, 'a second uninterrupted run');
  // A finished run resumed does no step again and leaves the same files.
  const resumed = await trainer(again, 'resume');
  assert.is(resumed.code, 0, resumed.err);
  assert.match(resumed.out, /^start 12 cleaned \[\]/);
  sameTree(await tree(again), files, 'a finished run resumed');
});

test('webrlhf generate reads a checkpoint and final/ as model folders', async () => {
  const outputs: string[] = [];
  for (const folder of ['checkpoint-00000012', 'final']) {
    const args = ['generate', '--model', join(straight, folder), '--prompt', 'ab', '--greedy', '--max-new-tokens', '4', '--json', '--backend', 'wasm'];
    const { result, out, err } = await quiet(() => main(args));
    assert.is(result, 0, err);
    assert.is(JSON.parse(out).ids.length, 4);
    outputs.push(out);
  }
  assert.is(outputs[0], outputs[1], 'the last checkpoint and final/ hold the same model');
});

for (const [when, file] of [['after its first file', 'model.safetensors'], ['after trainer_state.json, before the rename', 'trainer_state.json']] as const) {
  test(`SIGKILL in the middle of a checkpoint write (${when}): the partial one is dropped, the resumed run ends as if never stopped`, async () => {
    const dir = join(root, `killed-writing-${file}`);
    const partial = join(dir, 'checkpoint-00000006.tmp');
    // The testing knob: 500 ms after each checkpoint file, time to kill while the .tmp is half written.
    const killed = await trainer(dir, 'new', { env: { [CHECKPOINT_PAUSE_ENV]: '500' }, killWhen: () => existsSync(join(partial, file)) });
    assert.is(killed.signal, 'SIGKILL', `the trainer ended before it was killed: ${killed.out} ${killed.err}`);
    assert.ok(existsSync(join(partial, file)) && !existsSync(join(dir, 'checkpoint-00000006')), 'killed while checkpoint 6 was written');
    const expected = await tree(straight);
    const crashed = await tree(dir);
    // The complete checkpoint before it is whole; the logs hold the lines up to step 6.
    sameTree(only(crashed, 'checkpoint-00000003/'), only(expected, 'checkpoint-00000003/'), 'checkpoint 3 after the crash');
    assert.ok(expected.get('metrics.jsonl')!.toString().startsWith(crashed.get('metrics.jsonl')!.toString()), 'metrics so far are the uninterrupted run\'s');
    assert.match(crashed.get('metrics.jsonl')!.toString(), /"step":6,/);

    const resumed = await trainer(dir, 'resume');
    assert.is(resumed.code, 0, resumed.err);
    assert.match(resumed.out, /^start 3 cleaned \["checkpoint-00000006\.tmp"\]/);
    sameTree(await tree(dir), expected, 'the resumed run');
  });
}

test('SIGKILL during training, between checkpoints: the resumed run repeats from the last checkpoint and ends the same', async () => {
  const dir = join(root, 'killed-training');
  const killed = await trainer(dir, 'new', { killWhen: (out) => out.includes('step 8\n') });
  assert.is(killed.signal, 'SIGKILL');
  const crashed = await tree(dir);
  assert.match(crashed.get('metrics.jsonl')!.toString(), /"step":8,/);
  assert.not.ok(existsSync(join(dir, 'final')), 'killed before the end');
  // Killed right after step 8 was printed: checkpoint 9 may have been reached, but hardly ever is.
  const complete = [...crashed.keys()].filter((k) => k.endsWith('/trainer_state.json')).map((k) => Number(k.slice('checkpoint-'.length, -'/trainer_state.json'.length)));
  assert.ok(complete.includes(3) && complete.includes(6), `complete checkpoints: ${complete}`);
  const last = Math.max(...complete);
  const resumed = await trainer(dir, 'resume');
  assert.is(resumed.code, 0, resumed.err);
  assert.ok(resumed.out.startsWith(`start ${last} cleaned [`) && resumed.out.includes(`\nstep ${last + 1}\n`), resumed.out);
  sameTree(await tree(dir), await tree(straight), 'the resumed run');
});

test('SIGKILL twice (in a checkpoint write, then in training after resuming) still ends the same', async () => {
  const dir = join(root, 'killed-twice');
  const first = await trainer(dir, 'new', { env: { [CHECKPOINT_PAUSE_ENV]: '500' }, killWhen: () => existsSync(join(dir, 'checkpoint-00000009.tmp', 'optimizer.safetensors')) });
  assert.is(first.signal, 'SIGKILL');
  const second = await trainer(dir, 'resume', { killWhen: (out) => out.includes('step 8\n') });
  assert.is(second.signal, 'SIGKILL');
  assert.match(second.out, /^start 6 cleaned \["checkpoint-00000009\.tmp"\]/);
  const third = await trainer(dir, 'resume');
  assert.is(third.code, 0, third.err);
  sameTree(await tree(dir), await tree(straight), 'the twice-resumed run');
});

test.run();
