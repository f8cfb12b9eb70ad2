// The RLHF stack end to end on the toy task (test/harness/toy_task.ts), in every runtime and
// on both backends: PPO raises the mean score while the KL stays bounded, the reward model
// ranks held-out pairs, DPO raises the chosen-minus-rejected margin.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AdamW, GPT, PPOLearner, dpoTrainStep, evaluateDPO, evaluateRewardModel, encodePair, rewardTrainStep, type EncodedPreference } from 'webrlhf';
import { legBackendInstance as backend } from './harness/runtime.js';
import { EOS, PAD, PROMPT, countA, toyPairs, toySFTModel, toyTokenizer } from './harness/toy_task.js';

const test = suite('rlhf');

let sft: Promise<GPT> | undefined;
const sftModel = async () => (sft ??= backend().then(toySFTModel));

function encodePreferences(pairs: { prompt: string; chosen: string; rejected: string }[]): EncodedPreference[] {
  return pairs.map((p) => {
    const c = encodePair(toyTokenizer, p.prompt, p.chosen, { maxLength: 16 });
    return { prompt: c.prompt, chosen: c.completion, rejected: encodePair(toyTokenizer, p.prompt, p.rejected, { maxLength: 16 }).completion };
  });
}

test('PPO raises the mean score of the toy task while objective/kl stays bounded', async () => {
  const policy = (await sftModel()).clone();
  const reference = (await sftModel()).clone().freeze();
  const value = await policy.withHeads({ value: true });
  const learner = new PPOLearner(
    { policy, reference, value, reward: (samples) => samples.map((s) => countA(toyTokenizer.decode(s.response))) },
    { policy: new AdamW(policy, { lr: 1e-3, weight_decay: 0 }), value: new AdamW(value, { lr: 1e-3, weight_decay: 0 }) },
    {
      kl_coef: 0.05, kl_estimator: 'k1', cliprange: 0.2, cliprange_value: 0.2, vf_coef: 0.1, gamma: 1, lam: 0.95, whiten_rewards: false,
      num_ppo_epochs: 4, num_mini_batches: 2, temperature: 1, response_length: 8, missing_eos_penalty: 1, stop_token_id: EOS, pad_token_id: PAD, seed: 3,
    },
  );
  const prompts = Array.from({ length: 32 }, () => toyTokenizer.encode(PROMPT));
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
  for (const m of [policy, reference, value]) m.dispose();
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

test.run();
