// Run folders in memory (every leg): checkpoints round trip exactly, only complete ones count,
// logs are cut back on resume, and a checkpoint that does not fit changes nothing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AdamW, CheckpointError, ConfigError, CausalLM, MIBHeads, configDifferences, gptConfig, lmTrainStep, loadModel, memoryRunStorage, openRun,
  parseSafetensors, type Backend, type GPTConfig, type MemoryRunStorage, type Run,
} from 'webrlhf';
import { platform } from '../src/runtime/platform.js';
import { tinyModel } from './harness/models.js';
import { errorOf, rejectsWith } from './harness/rejects.js';
import { legBackendInstance as backend } from './harness/runtime.js';

const test = suite('run folder');

const CONFIG = gptConfig({ vocab_size: 11, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 });
const WIDER = gptConfig({ ...CONFIG, n_embd: 16 });
const BATCH = { inputIds: [[1, 5, 7, 10, 0, 3]] };
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

/** Exact equality, bit for bit (so -0, NaN payloads and rounding all count). */
function sameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  const [a, e] = [new Uint32Array(actual.buffer, actual.byteOffset, actual.length), new Uint32Array(expected.buffer, expected.byteOffset, expected.length)];
  const at = a.findIndex((v, i) => v !== e[i]);
  assert.ok(at < 0, `${what}: differs at ${at}: ${actual[at]} vs ${expected[at]}`);
}

/** A policy with both heads and a value model, each with an AdamW that has taken `steps` steps. */
async function trainedModels(be: Backend, seed: number, steps: number, config: GPTConfig = CONFIG) {
  const policy = tinyModel(be, seed, config).model;
  const value = tinyModel(be, seed + 1, config).model;
  const optimizers = { policy: new AdamW(policy, { lr: 0.01 }), value_model: new AdamW(value, { lr: 0.02 }) };
  for (let i = 0; i < steps; i++) {
    await lmTrainStep(policy, optimizers.policy, BATCH);
    await lmTrainStep(value, optimizers.value_model, BATCH);
  }
  return { models: { policy, value_model: value }, optimizers };
}

function dispose(set: { models: Record<string, CausalLM>; optimizers: Record<string, AdamW> }): void {
  for (const o of Object.values(set.optimizers)) o.dispose();
  for (const m of Object.values(set.models)) m.dispose();
}

async function snapshot(set: { models: Record<string, CausalLM>; optimizers: Record<string, AdamW> }) {
  const out = new Map<string, Float32Array>();
  for (const [name, m] of Object.entries(set.models)) out.set(`model ${name}`, await m.backend.read(m.params));
  for (const [name, o] of Object.entries(set.optimizers)) out.set(`optimizer ${name}`, await o.model.backend.read(o.state));
  return out;
}

async function unchanged(set: { models: Record<string, CausalLM>; optimizers: Record<string, AdamW> }, before: Map<string, Float32Array>, steps: Record<string, number>) {
  const now = await snapshot(set);
  for (const [what, values] of before) sameBits(now.get(what)!, values, `${what} after the failed restore`);
  for (const [name, o] of Object.entries(set.optimizers)) assert.is(o.step, steps[name], `optimizer ${name} step`);
}

const newRun = (storage: MemoryRunStorage, config: object = { lr: 0.01 }, saveTotalLimit?: number) =>
  openRun(storage, { config, ...(saveTotalLimit ? { saveTotalLimit } : {}) });

test('a checkpoint round trips exactly: parameters, both AdamW moments, steps and the trainer state', async () => {
  const be = await backend();
  const storage = memoryRunStorage();
  const run = await newRun(storage);
  const saved = await trainedModels(be, 1, 3);
  const tokenizerJson = new TextEncoder().encode('{"model": "stand-in"}');
  const state = { epoch: 1, rng: { seed: 7, counter: 12 }, data_position: 40, kl_coef: 0.05, note: 'kept' };
  const cp = await run.saveCheckpoint(3, { ...saved, extraFiles: new Map([['tokenizer.json', tokenizerJson]]), state });
  assert.equal(cp, { step: 3, name: 'checkpoint-00000003', location: 'memory/checkpoint-00000003' });
  assert.equal([...storage.files.keys()].filter((p) => p.startsWith(cp.name)).sort(), [
    'checkpoint-00000003/config.json', 'checkpoint-00000003/model.safetensors', 'checkpoint-00000003/optimizer.safetensors',
    'checkpoint-00000003/tokenizer.json', 'checkpoint-00000003/trainer_state.json',
    'checkpoint-00000003/value_model/config.json', 'checkpoint-00000003/value_model/model.safetensors',
  ]);
  const optimizerFile = parseSafetensors(storage.files.get('checkpoint-00000003/optimizer.safetensors')!);
  const P = saved.models.policy.layout.total;
  assert.equal(optimizerFile.get('policy.exp_avg')!.shape, [P]);
  assert.equal(optimizerFile.get('value_model.exp_avg_sq')!.shape, [P]);
  assert.is(optimizerFile.metadata['policy.step'], '3');
  const trainerState = JSON.parse(text(storage.files.get('checkpoint-00000003/trainer_state.json')));
  assert.is(trainerState.global_step, 3);
  assert.equal(trainerState.models, { policy: '.', value_model: 'value_model' });

  // Fresh objects of the same shape, far from the saved values, get every bit back.
  const fresh = await trainedModels(be, 50, 0);
  const resumed = await openRun(storage, { config: { lr: 0.01 }, resume: true });
  assert.equal(resumed.resumeFrom, cp);
  const restored = await resumed.restore(resumed.resumeFrom!, fresh);
  assert.equal(restored, state);
  const [want, got] = [await snapshot(saved), await snapshot(fresh)];
  for (const [what, values] of want) sameBits(got.get(what)!, values, what);
  assert.is(fresh.optimizers.policy.step, 3);
  assert.is(fresh.optimizers.value_model.step, 3);

  // Training on from both gives the same next step: nothing of the optimizer was lost.
  const [a, b] = [await lmTrainStep(saved.models.policy, saved.optimizers.policy, BATCH), await lmTrainStep(fresh.models.policy, fresh.optimizers.policy, BATCH)];
  assert.is(b.loss, a.loss);
  sameBits(await be.read(fresh.models.policy.params), await be.read(saved.models.policy.params), 'policy after one more step');

  // The checkpoint's top is a model folder (the policy); the value model is one in its subfolder.
  const policy = await loadModel(be, resumed.modelFolder(cp.name));
  sameBits(await be.read(policy.params), want.get('model policy')!, 'policy loaded with loadModel');
  assert.equal(policy.heads, { score: true, value: true });
  const value = await loadModel(be, resumed.modelFolder(`${cp.name}/value_model`));
  sameBits(await be.read(value.params), want.get('model value_model')!, 'value model loaded with loadModel');
  for (const m of [policy, value]) m.dispose();
  dispose(saved);
  dispose(fresh);
});

test('final/ is a model folder with the extra files, replaced whole when saved again', async () => {
  const be = await backend();
  const storage = memoryRunStorage();
  const run = await newRun(storage);
  const { model } = tinyModel(be, 3, CONFIG);
  const tokenizer = new TextEncoder().encode('{}');
  assert.is(await run.saveFinal({ models: { policy: model }, extraFiles: { 'tokenizer.json': tokenizer } }), 'memory/final');
  assert.equal([...storage.files.keys()].filter((p) => p.startsWith('final')).sort(), ['final/config.json', 'final/model.safetensors', 'final/tokenizer.json']);
  const loaded = await loadModel(be, run.modelFolder('final'));
  sameBits(await be.read(loaded.params), await be.read(model.params), 'final/');
  await run.saveFinal({ models: { policy: loaded } });
  assert.equal([...storage.files.keys()].filter((p) => p.startsWith('final')).sort(), ['final/config.json', 'final/model.safetensors']);
  for (const m of [model, loaded]) m.dispose();
});

test('save_total_limit keeps the newest checkpoints, and never deletes the one just written', async () => {
  const be = await backend();
  const storage = memoryRunStorage();
  const run = await newRun(storage, {}, 2);
  const set = await trainedModels(be, 4, 0);
  for (const step of [10, 20, 30, 40]) await run.saveCheckpoint(step, { ...set, state: { step } });
  assert.equal((await run.checkpoints()).map((c) => c.name), ['checkpoint-00000030', 'checkpoint-00000040']);
  assert.not.ok([...storage.files.keys()].some((p) => p.startsWith('checkpoint-00000010') || p.startsWith('checkpoint-00000020')), 'old files gone');
  // Saving an older step again (after restoring it, say) keeps it and deletes the oldest other one.
  await run.saveCheckpoint(25, { ...set, state: { step: 25 } });
  assert.equal((await run.checkpoints()).map((c) => c.step), [25, 40]);
  assert.equal((await run.latestCheckpoint())?.step, 40);
  assert.not.ok((await storage.list(''))!.some((n) => n.endsWith('.tmp') || n.endsWith('.old')), 'no leftovers');
  dispose(set);
});

test('only complete checkpoints count: a .tmp or a folder without trainer_state.json is ignored, and resume removes .tmp', async () => {
  const be = await backend();
  const storage = memoryRunStorage();
  const run = await newRun(storage);
  const set = await trainedModels(be, 5, 1);
  await run.saveCheckpoint(5, { ...set, state: { at: 5 } });
  // A crash mid-write leaves a .tmp, trainer_state.json included or not; a folder without it is not complete either.
  await run.saveCheckpoint(9, { ...set, state: { at: 9 } });
  await storage.rename('checkpoint-00000009', 'checkpoint-00000009.tmp');
  await run.saveCheckpoint(8, { ...set, state: { at: 8 } });
  await storage.remove('checkpoint-00000008/trainer_state.json');
  await storage.mkdirp('checkpoint-00000012.tmp');
  await storage.write('checkpoint-00000012.tmp/model.safetensors', new Uint8Array(5));
  assert.equal((await run.latestCheckpoint())?.step, 5);
  assert.equal((await run.checkpoints()).map((c) => c.step), [5]);

  const resumed = await openRun(storage, { config: {}, resume: true });
  assert.equal(resumed.cleanedUp.sort(), ['checkpoint-00000009.tmp', 'checkpoint-00000012.tmp']);
  assert.is(resumed.resumeFrom?.step, 5);
  assert.not.ok([...storage.files.keys()].some((p) => p.includes('.tmp')), 'no .tmp left');
  assert.equal(await resumed.restore(resumed.resumeFrom!, set), { at: 5 });
  dispose(set);
});

test('a replacement interrupted between its renames is finished on resume (.old put back or dropped)', async () => {
  const be = await backend();
  const storage = memoryRunStorage();
  const run = await newRun(storage);
  const set = await trainedModels(be, 6, 0);
  await run.saveCheckpoint(7, { ...set, state: { v: 'old' } });
  // Crash after `checkpoint-7 → .old`, before `.tmp → checkpoint-7`: the old one comes back.
  await run.saveCheckpoint(7, { ...set, state: { v: 'new' } });
  await storage.rename('checkpoint-00000007', 'checkpoint-00000007.tmp');
  await storage.mkdirp('checkpoint-00000007.old');
  await storage.write('checkpoint-00000007.old/trainer_state.json', storage.files.get('checkpoint-00000007.tmp/trainer_state.json')!);
  let resumed = await openRun(storage, { config: {}, resume: true });
  assert.is(resumed.resumeFrom?.step, 7);
  assert.equal((await storage.list(''))!.sort(), ['checkpoint-00000007', 'config.json']);
  // Crash after both renames, before the .old is removed: the new one stays.
  await storage.mkdirp('checkpoint-00000007.old');
  resumed = await openRun(storage, { config: {}, resume: true });
  assert.equal(resumed.cleanedUp, ['checkpoint-00000007.old']);
  assert.equal((await storage.list(''))!.sort(), ['checkpoint-00000007', 'config.json']);
  dispose(set);
});

test('resume cuts metrics.jsonl and rollouts.jsonl back to the checkpoint, partial last line included, at the first write', async () => {
  const be = await backend();
  const set = await trainedModels(be, 7, 0);
  /** An uninterrupted run's logs, and one that saved at step 4, logged on to 6, then crashed mid-line. */
  const play = async (storage: MemoryRunStorage, steps: number[], save: number[] = []) => {
    const run = await newRun(storage);
    for (const step of steps) {
      await run.log(step, { loss: 1 / step, 'objective/kl': step * 0.5 });
      await run.logRollouts(step, [{ prompt: 'a', response: `r${step}`, score: step }, { prompt: 'b', response: 'é', score: NaN }]);
      if (save.includes(step)) await run.saveCheckpoint(step, { ...set, state: { step } });
    }
    return run;
  };
  const straight = memoryRunStorage();
  await play(straight, [1, 2, 3, 4, 5]);
  assert.is(text(straight.files.get('metrics.jsonl')).split('\n')[0], '{"step":1,"loss":1,"objective/kl":0.5}');
  assert.is(text(straight.files.get('rollouts.jsonl')).split('\n')[1], '{"step":1,"prompt":"b","response":"é","score":null}');

  const crashed = memoryRunStorage();
  await play(crashed, [1, 2, 3, 4, 5, 6], [2, 4]);
  await crashed.append('metrics.jsonl', new TextEncoder().encode('{"step":7,"lo'));
  const before = text(crashed.files.get('metrics.jsonl'));
  const resumed = await openRun(crashed, { config: { lr: 0.01 }, resume: true });
  assert.is(resumed.resumeFrom?.step, 4);
  assert.is(text(crashed.files.get('metrics.jsonl')), before, 'nothing is cut before the first write');
  await resumed.restore(resumed.resumeFrom!, set);
  await resumed.log(5, { loss: 1 / 5, 'objective/kl': 2.5 });
  await resumed.logRollouts(5, [{ prompt: 'a', response: 'r5', score: 5 }, { prompt: 'b', response: 'é', score: NaN }]);
  assert.is(text(crashed.files.get('metrics.jsonl')), text(straight.files.get('metrics.jsonl')));
  assert.is(text(crashed.files.get('rollouts.jsonl')), text(straight.files.get('rollouts.jsonl')));

  // Resuming a run that crashed before its first checkpoint starts the logs afresh.
  const early = memoryRunStorage();
  await play(early, [1, 2]);
  const again = await openRun(early, { config: {}, resume: true });
  assert.is(again.resumeFrom, undefined);
  await again.log(1, { loss: 1, 'objective/kl': 0.5 });
  assert.is(text(early.files.get('metrics.jsonl')), '{"step":1,"loss":1,"objective/kl":0.5}\n');
  dispose(set);
});

test('a used folder needs resume; resume keeps config.json and reports what changed', async () => {
  const storage = memoryRunStorage();
  const run = await newRun(storage, { lr: 0.01, ppo: { kl_coef: 0.05, epochs: 4 } });
  await run.log(1, { loss: 2 });
  const files = new Map(storage.files);
  await rejectsWith(newRun(storage, { lr: 0.02 }), errorOf(ConfigError, /memory already holds a run \(config\.json, metrics\.jsonl\)/, /--resume/, /another output_dir/), 'a used folder');
  assert.equal(storage.files, files, 'nothing written');
  // A folder where only config.json was written (a crash before the first step) is a run too.
  const fresh = memoryRunStorage();
  await newRun(fresh);
  await rejectsWith(newRun(fresh), errorOf(ConfigError, /already holds a run \(config\.json\)/), 'config.json alone');

  const resumed = await openRun(storage, { config: { lr: 0.02, ppo: { kl_coef: 0.05, epochs: 4, whiten: true } }, resume: true });
  assert.equal(resumed.savedConfig, { lr: 0.01, ppo: { kl_coef: 0.05, epochs: 4 } });
  assert.equal(resumed.configChanges, [{ key: 'lr', saved: 0.01, current: 0.02 }, { key: 'ppo.whiten', saved: undefined, current: true }]);
  assert.equal(JSON.parse(text(storage.files.get('config.json'))), { lr: 0.01, ppo: { kl_coef: 0.05, epochs: 4 } });
  assert.equal(configDifferences({ a: [1, 2], b: { c: null } }, { a: [1, 2], b: { c: null }, d: undefined }), []);
});

test('bad calls are ConfigErrors that write nothing', async () => {
  const be = await backend();
  const storage = memoryRunStorage();
  const run = await newRun(storage);
  const { model } = tinyModel(be, 8, CONFIG);
  await rejectsWith(run.log(-1, { loss: 1 }), errorOf(ConfigError, /step must be a non-negative integer/), 'negative step');
  await rejectsWith(run.log(1, { loss: '1' as unknown as number }), errorOf(ConfigError, /metric loss is "1"; metrics are numbers/), 'string metric');
  await rejectsWith(run.saveCheckpoint(1, { models: {} }), errorOf(ConfigError, /at least one model/), 'no model');
  await rejectsWith(run.saveCheckpoint(1, { models: { 'a/b': model } }), errorOf(ConfigError, /"a\/b" is not usable/), 'a path as a name');
  await rejectsWith(run.saveCheckpoint(1, { models: { policy: model }, extraFiles: { 'config.json': new Uint8Array(1) } }), errorOf(ConfigError, /writes that name itself/), 'a reserved name');
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  await rejectsWith(run.saveCheckpoint(1, { models: { policy: model }, state: cyclic }), errorOf(ConfigError, /not JSON-serialisable/), 'cyclic state');
  assert.equal([...storage.files.keys()], ['config.json']);
  assert.equal((await storage.list(''))!, ['config.json']);
  await rejectsWith(openRun(storage, { config: {}, saveTotalLimit: -1 }), errorOf(ConfigError, /save_total_limit/), 'negative limit');
  model.dispose();
});

/** A run with one complete checkpoint of `set` at step 10; returns the run and its storage. */
async function runWithCheckpoint(set: { models: Record<string, CausalLM>; optimizers: Record<string, AdamW> }): Promise<{ run: Run; storage: MemoryRunStorage }> {
  const storage = memoryRunStorage();
  await (await newRun(storage)).saveCheckpoint(10, { ...set, state: { step: 10 } });
  return { run: await openRun(storage, { config: {}, resume: true }), storage };
}

test('a checkpoint of another model shape is a CheckpointError naming it, the tensor and both shapes; nothing changes', async () => {
  const be = await backend();
  const small = await trainedModels(be, 9, 1);
  const { run } = await runWithCheckpoint(small);
  const wide = await trainedModels(be, 10, 1, WIDER);
  const before = await snapshot(wide);
  await rejectsWith(
    run.restore(run.resumeFrom!, wide),
    (e) => errorOf(CheckpointError,
      /checkpoint-00000010: its policy model was written by a model with n_embd 8; the model being resumed has n_embd 16: wte\.weight is \[11, 8\] there and \[11, 16\] here/,
      /resume with the same model_name_or_path .* or start a new output_dir/)(e) && (e as CheckpointError).tensor === 'wte.weight' && (e as CheckpointError).file === 'checkpoint-00000010/config.json',
    'wider model',
  );
  await unchanged(wide, before, { policy: 1, value_model: 1 });
  dispose(small);
  dispose(wide);
});

test('a missing tensor, a missing model and an optimizer of another size are CheckpointErrors; nothing changes', async () => {
  const be = await backend();
  // The checkpoint's policy has no value head; the live one has.
  const bare = CausalLM.create(be, CONFIG, { seed: 1, heads: { score: true } });
  const bareSet = { models: { policy: bare }, optimizers: { policy: new AdamW(bare) } };
  const { run } = await runWithCheckpoint(bareSet);
  const live = await trainedModels(be, 11, 2);
  const before = await snapshot(live);
  await rejectsWith(
    run.restore(run.resumeFrom!, { models: { policy: live.models.policy } }),
    (e) => errorOf(CheckpointError, /its policy model lacks v_head\.summary\.weight \[1, 8\] \(the value head\), which the model being resumed has/)(e) &&
      (e as CheckpointError).tensor === 'v_head.summary.weight',
    'missing value head',
  );
  await rejectsWith(
    run.restore(run.resumeFrom!, { models: { value_model: live.models.value_model } }),
    errorOf(CheckpointError, /has no model named value_model \(it has policy\)/),
    'missing model',
  );
  await unchanged(live, before, { policy: 2, value_model: 2 });

  // The models fit; the optimizer does not (another model's size): the models must not change either.
  const fits = await trainedModels(be, 12, 1);
  const { run: fitting } = await runWithCheckpoint(fits);
  const target = await trainedModels(be, 13, 2);
  const targetBefore = await snapshot(target);
  const other = CausalLM.create(be, WIDER);
  const otherOptimizer = new AdamW(other);
  const P = fits.models.policy.layout.total;
  const Q = other.layout.total;
  await rejectsWith(
    fitting.restore(fitting.resumeFrom!, { models: target.models, optimizers: { ...target.optimizers, value_model: otherOptimizer } }),
    (e) => errorOf(CheckpointError, new RegExp(`value_model\\.exp_avg has shape \\[${P}\\] in optimizer\\.safetensors, but the optimizer being resumed needs \\[${Q}\\]`))(e) &&
      (e as CheckpointError).file === 'checkpoint-00000010/optimizer.safetensors',
    'optimizer of another size',
  );
  await unchanged(target, targetBefore, { policy: 2, value_model: 2 });
  await rejectsWith(
    fitting.restore(fitting.resumeFrom!, { optimizers: { critic: target.optimizers.value_model } }),
    errorOf(CheckpointError, /has no critic\.exp_avg in optimizer\.safetensors/),
    'unknown optimizer',
  );
  otherOptimizer.dispose();
  other.dispose();
  bareSet.optimizers.policy.dispose();
  for (const s of [live, fits, target]) dispose(s);
  bare.dispose();
});

test('parameters that are no model (RLP-UML\'s heads) round trip exactly in <name>.safetensors; another layout, a missing store or a reserved name is an error', async () => {
  const be = await backend();
  const { model } = tinyModel(be, 15, CONFIG);
  const heads = new MIBHeads(be, { n_embd: 8, mib_latent: 2, mib_hidden: 4, seed: 1 });
  const storage = memoryRunStorage();
  const run = await newRun(storage);
  await rejectsWith(run.saveCheckpoint(1, { models: { policy: model }, parameters: { optimizer: heads.store } }), errorOf(ConfigError, /optimizer\.safetensors, a file the checkpoint writes itself/), 'a reserved name');
  await run.saveCheckpoint(1, { models: { policy: model }, parameters: { mib_heads: heads.store }, state: {} });
  assert.equal(JSON.parse(text(storage.files.get('checkpoint-00000001/trainer_state.json'))).parameters, ['mib_heads']);
  const file = parseSafetensors(storage.files.get('checkpoint-00000001/mib_heads.safetensors')!);
  assert.equal([...file.keys()].sort(), [...heads.store.layout.byName.keys()].sort(), 'every tensor of the heads, by name');
  assert.equal(file.get('critic.0.weight.1')!.shape, [2, 4]);

  const resumed = await openRun(storage, { config: { lr: 0.01 }, resume: true });
  const fresh = new MIBHeads(be, { n_embd: 8, mib_latent: 2, mib_hidden: 4, seed: 2 });
  const wider = new MIBHeads(be, { n_embd: 8, mib_latent: 3, mib_hidden: 4, seed: 2 });
  const widerBefore = await be.read(wider.store.params);
  await rejectsWith(resumed.restore(resumed.resumeFrom!, { parameters: { mib_heads: wider.store } }), (e) => errorOf(CheckpointError, /mib_heads\.safetensors has mu\.\S+ with shape \[/)(e) && (e as CheckpointError).file === 'checkpoint-00000001/mib_heads.safetensors', 'another latent size');
  sameBits(await be.read(wider.store.params), widerBefore, 'the heads after the failed restore');
  await rejectsWith(resumed.restore(resumed.resumeFrom!, { parameters: { critic: fresh.store } }), errorOf(CheckpointError, /has no parameters named critic \(it has mib_heads\)/), 'a missing store');
  await resumed.restore(resumed.resumeFrom!, { parameters: { mib_heads: fresh.store } });
  sameBits(await be.read(fresh.store.params), await be.read(heads.store.params), 'the heads restored');
  for (const h of [heads, fresh, wider]) h.dispose();
  model.dispose();
});

test('a failed restore cuts no log line', async () => {
  const be = await backend();
  const small = await trainedModels(be, 14, 0);
  const storage = memoryRunStorage();
  const run = await newRun(storage);
  for (const step of [1, 2, 3]) {
    await run.log(step, { loss: step });
    if (step === 2) await run.saveCheckpoint(step, small);
  }
  const metrics = text(storage.files.get('metrics.jsonl'));
  const wide = await trainedModels(be, 15, 0, WIDER);
  const resumed = await openRun(storage, { config: {}, resume: true });
  await rejectsWith(resumed.restore(resumed.resumeFrom!, wide), errorOf(CheckpointError, /n_embd 8/), 'another shape');
  assert.is(text(storage.files.get('metrics.jsonl')), metrics);
  dispose(small);
  dispose(wide);
});

// Node and Deno: the same through the local filesystem (the PlatformFS calls run folders add).
if (platform().fs) {
  test('a run folder on the local filesystem: logs, checkpoints, limit, resume, final', async () => {
    const fs = platform().fs!;
    const dir = `build/test/run-folder-${platform().runtime}-${Date.now()}`;
    try {
      const be = await backend();
      const set = await trainedModels(be, 16, 1);
      const run = await openRun(dir, { config: { seed: 1 }, saveTotalLimit: 1 });
      await run.log(1, { loss: 1 });
      await run.saveCheckpoint(1, { ...set, extraFiles: { 'tokenizer.json': new TextEncoder().encode('{}') }, state: { at: 1 } });
      await run.log(2, { loss: 0.5 });
      await run.saveCheckpoint(2, { ...set, state: { at: 2 } });
      await run.log(3, { loss: 0.25 });
      await run.saveFinal({ models: { policy: set.models.policy } });
      assert.equal((await fs.list(dir))!.sort(), ['checkpoint-00000002', 'config.json', 'final', 'metrics.jsonl']);
      assert.equal((await fs.list(`${dir}/checkpoint-00000002`))!.sort(), ['config.json', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json', 'value_model']);
      await fs.mkdirp(`${dir}/checkpoint-00000003.tmp`);
      await fs.appendFile(`${dir}/metrics.jsonl`, new TextEncoder().encode('{"st'));

      const resumed = await openRun(dir, { config: { seed: 1 }, resume: true });
      assert.equal(resumed.cleanedUp, ['checkpoint-00000003.tmp']);
      assert.is(resumed.resumeFrom?.step, 2);
      const fresh = await trainedModels(be, 17, 0);
      assert.equal(await resumed.restore(resumed.resumeFrom!, fresh), { at: 2 });
      sameBits(await be.read(fresh.optimizers.value_model.state), await be.read(set.optimizers.value_model.state), 'value optimizer');
      await resumed.log(3, { loss: 0.25 });
      assert.is(text(await fs.readFile(`${dir}/metrics.jsonl`)), '{"step":1,"loss":1}\n{"step":2,"loss":0.5}\n{"step":3,"loss":0.25}\n');
      const final = await loadModel(be, `${dir}/final`);
      sameBits(await be.read(final.params), await be.read(set.models.policy.params), 'final/ through its path');
      final.dispose();
      dispose(set);
      dispose(fresh);
    } finally {
      await fs.remove(dir);
    }
  });
}

test.run();
