// The RLHF stack end to end on the toy task (test/harness/toy_task.ts), in every runtime and
// on both backends: PPO raises the mean score while the KL stays bounded, the reward model
// ranks held-out pairs, DPO raises the chosen-minus-rejected margin.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AdamW, CausalLM, PPOTrainer, SFTTrainer, dpoTrainStep, evaluateDPO, evaluateRewardModel, encodePreference, memoryRunStorage, openRun, ppoConfig, ppoModels, rewardTrainStep, sftConfig, ConfigError,
  type EncodedPreference,
} from 'webrlhf';
import { legBackendInstance as backend } from './harness/runtime.js';
import { rng } from './harness/reference.js';
import { errorOf, rejectsWith } from './harness/rejects.js';
import { assertResumesExactly } from './harness/resume.js';
import { PAD, PROMPT, toyPPO, countA, randomLetters, toyPairs, toySFTModel, toyTokenizer } from './harness/toy_task.js';

const test = suite('rlhf');

let sft: Promise<CausalLM> | undefined;
const sftModel = async () => (sft ??= backend().then(toySFTModel));

function encodePreferences(pairs: { prompt: string; chosen: string; rejected: string }[]): EncodedPreference[] {
  return pairs.map((p) => encodePreference(toyTokenizer, p, { maxLength: 16 }));
}

test('PPO raises the mean score of the toy task while objective/kl stays bounded', async () => {
  const { learner, models, prompts } = await toyPPO(await sftModel());
  const scores: number[] = [];
  const kls: number[] = [];
  for (let step = 0; step < 10; step++) {
    const { metrics, samples } = await learner.step(prompts, step, 1e-3);
    for (const key of ['objective/kl', 'objective/entropy', 'objective/non_score_reward', 'objective/rlhf_reward', 'objective/scores', 'policy/approxkl_avg',
      'policy/clipfrac_avg', 'policy/entropy_avg', 'loss/policy_avg', 'loss/value_avg', 'val/clipfrac_avg', 'val/ratio', 'val/ratio_var', 'val/num_eos_tokens']) {
      assert.ok(Number.isFinite(metrics[key]), `step ${step}: ${key} = ${metrics[key]}`);
    }
    assert.is(samples.length, 32);
    scores.push(metrics['objective/scores']!);
    kls.push(metrics['objective/kl']!);
  }
  const first = (scores[0]! + scores[1]!) / 2;
  const last = (scores[7]! + scores[8]! + scores[9]!) / 3;
  assert.ok(last > first + 1, `mean score ${first.toFixed(2)} → ${last.toFixed(2)} (all: ${scores.map((s) => s.toFixed(2)).join(' ')})`);
  assert.ok(Math.max(...kls) < 8, `objective/kl stays bounded: ${kls.map((k) => k.toFixed(2)).join(' ')}`);
  for (const m of models) m.dispose();
});

test('the Bradley–Terry reward model ranks held-out pairs', async () => {
  const model = await (await sftModel()).withHeads({ score: true });
  const opt = new AdamW(model, { lr: 2e-3, weight_decay: 0 });
  const train = encodePreferences(toyPairs(16 * 40, 5));
  const heldOut = encodePreferences(toyPairs(128, 6));
  const before = await evaluateRewardModel(model, heldOut, 64, { pad: PAD });
  for (let i = 0; i < train.length; i += 16) await rewardTrainStep(model, opt, train.slice(i, i + 16), 2e-3, { pad: PAD, centerCoefficient: 0.01 });
  const after = await evaluateRewardModel(model, heldOut, 64, { pad: PAD });
  assert.ok(after.accuracy! >= 0.85, `held-out accuracy ${before.accuracy} → ${after.accuracy}`);
  assert.ok(after.margin! > before.margin!, `margin ${before.margin} → ${after.margin}`);
  model.dispose();
});

test('DPO raises the chosen-minus-rejected margin on held-out pairs', async () => {
  const policy = (await sftModel()).clone();
  const reference = (await sftModel()).clone().freeze();
  const opt = new AdamW(policy, { lr: 2e-3, weight_decay: 0 });
  const train = encodePreferences(toyPairs(16 * 25, 7));
  const heldOut = encodePreferences(toyPairs(128, 8));
  const before = await evaluateDPO(policy, reference, heldOut, 64, { beta: 0.1, pad: PAD });
  for (let i = 0; i < train.length; i += 16) await dpoTrainStep(policy, reference, opt, train.slice(i, i + 16), 2e-3, { beta: 0.1, pad: PAD });
  const after = await evaluateDPO(policy, reference, heldOut, 64, { beta: 0.1, pad: PAD });
  assert.ok(Math.abs(before['rewards/margins']!) < 1e-6, `the policy starts as the reference: margin ${before['rewards/margins']}`);
  assert.ok(after['rewards/margins']! > 0.5, `margin ${before['rewards/margins']} → ${after['rewards/margins']}`);
  assert.ok(after['rewards/accuracies']! > 0.8, `accuracy ${after['rewards/accuracies']}`);
  policy.dispose();
  reference.dispose();
});

test('a signal aborted by a task (a worker message, a click) stops training: the loop yields to the event loop between steps', async () => {
  const be = (await sftModel()).backend;
  const model = CausalLM.create(be, (await sftModel()).config, { seed: 2 });
  const r = rng(22);
  const train = Array.from({ length: 64 }, () => ({ prompt: PROMPT, completion: randomLetters(r, 6) }));
  const config = sftConfig({ max_steps: 200, per_device_train_batch_size: 4, learning_rate: 1e-3, max_length: 16, save_steps: 1000 });
  const stop = new AbortController();
  const steps: number[] = [];
  // The abort comes from a timer, as a 'stop' message would: on WASM every await resolves as a
  // microtask, so without the trainer's yield the timer would only fire after step 200.
  const outcome = await new SFTTrainer({ model, tokenizer: toyTokenizer, config, train })
    .train({ signal: stop.signal, onStep: (e) => steps.push(e.step) === 1 && setTimeout(() => stop.abort(), 0) })
    .then(() => 'finished', (e: Error) => e.name);
  model.dispose();
  assert.is(outcome, 'AbortError');
  assert.ok(steps.length < 20, `stopped after ${steps.length} of 200 steps`);
});

test('the trainer classes in this runtime: SFT and PPO write their run folder in memory, and a resumed run continues it exactly', async () => {
  const be = await (await sftModel()).backend;
  const r = rng(21);
  const train = Array.from({ length: 64 }, () => ({ prompt: PROMPT, completion: randomLetters(r, 6) }));
  const text = (files: Map<string, Uint8Array>, name: string) => new TextDecoder().decode(files.get(name));
  // Cancelled after step 4 (checkpoint 3 is the newest), then resumed to the end.
  await assertResumesExactly(async () => {
    const model = CausalLM.create(be, (await sftModel()).config, { seed: 1 });
    const config = sftConfig({ max_steps: 8, save_steps: 3, logging_steps: 1, per_device_train_batch_size: 8, learning_rate: 3e-3, max_length: 16 });
    return { trainer: new SFTTrainer({ model, tokenizer: toyTokenizer, config, train }), dispose: () => model.dispose() };
  }, { stopAfter: 4, resumedFrom: 3 });

  const policy = (await sftModel()).clone();
  const reference = (await sftModel()).clone().freeze();
  const value = await policy.withHeads({ value: true });
  const config = ppoConfig({ max_steps: 2, save_steps: 1, per_device_train_batch_size: 4, num_mini_batches: 2, response_length: 6, learning_rate: 1e-3 });
  const ppo = new PPOTrainer({
    policy, reference, value, tokenizer: toyTokenizer, config, train: [{ prompt: PROMPT }, { prompt: '' }],
    reward: (samples) => samples.map((s) => countA(toyTokenizer.decode(s.response))),
  });
  const storage = memoryRunStorage();
  const events: number[] = [];
  await ppo.train({ run: await openRun(storage, { config }), onStep: (e) => events.push(e.step) });
  assert.equal(events, [1, 2]);
  assert.is(text(storage.files, 'rollouts.jsonl').trim().split('\n').length, 2 * 8);
  assert.ok(storage.files.has('checkpoint-00000001/value_model/model.safetensors'));
  assert.ok(storage.files.has('final/tokenizer.json'), 'the final folder carries the tokenizer, for webrlhf generate');
  for (const m of [policy, reference, value]) m.dispose();
});

test('ppoModels: the policy a trainable copy (or the SFT model itself), π_ref the SFT model frozen, the value model new; dispose frees only what it made', async () => {
  const sft = (await sftModel()).clone();
  const rewardModel = await sft.withHeads({ score: true });
  const copies = await ppoModels({ sft, reward: rewardModel });
  assert.ok(copies.policy !== sft && !copies.policy.frozen, 'the policy is a trainable copy');
  assert.ok(copies.reference !== sft && copies.reference.frozen && !sft.frozen, 'π_ref is a frozen copy of a trainable SFT model');
  assert.ok(copies.value.heads.value && !copies.value.frozen, 'a new value model');
  assert.ok(copies.reward === rewardModel && rewardModel.frozen, 'the reward model, frozen');
  copies.dispose();
  assert.ok(copies.reference.params.disposed && copies.value.params.disposed, 'dispose frees the reference copy and the value model');
  assert.ok(!copies.policy.params.disposed && !sft.params.disposed && !rewardModel.params.disposed, 'the policy and the models passed in stay');
  copies.policy.dispose();

  const inPlace = await ppoModels({ sft, trainInPlace: true, reward: rewardModel });
  assert.ok(inPlace.policy === sft && inPlace.reference.frozen && inPlace.reference !== sft);
  inPlace.dispose();

  sft.freeze();
  const score = (samples: { response: number[] }[]) => samples.map((s) => s.response.length);
  const shared = await ppoModels({ sft, reward: score, valueFrom: sft });
  assert.ok(shared.reference === sft && shared.policy !== sft && !shared.policy.frozen, 'a frozen SFT model is π_ref itself');
  assert.is(shared.reward, score);
  shared.dispose();
  assert.ok(!sft.params.disposed && shared.value.params.disposed);
  shared.policy.dispose();
  await rejectsWith(ppoModels({ sft, trainInPlace: true, reward: rewardModel }), errorOf(ConfigError, /frozen/), 'a frozen SFT model trained in place');
  await rejectsWith(ppoModels({ sft, reward: score }), errorOf(ConfigError, /value/), 'a reward function and no value model');
  for (const m of [sft, rewardModel]) m.dispose();
});

test.run();
