// GRPO and RLOO (ALGORITHMS.md §7) in every runtime and on both backends: the group-relative
// advantages on hand-made groups, the reward-function contract (null, token-level rewards,
// typed errors), the built-in rewards, module imports, and GRPO training in this runtime. The
// longer trainer runs (learning, token rewards, μ > 1, RLOO, accumulation, LoRA and resume)
// are in grpo_trainers.test.ts, on Node's two legs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CausalLM, ConfigError, GRPOTrainer, RLOOTrainer, RewardFunctionError, accuracyReward, callRewardFuncs, formatReward, grpoAdvantages, grpoConfig,
  importRewardFuncs, repetitionPenalty, rlooAdvantages, rlooConfig, softOverlongPunishment, type RewardFunc,
} from 'webrlhf';
import { errorOf, rejectsWith } from './harness/rejects.js';
import { legBackendInstance as backend } from './harness/runtime.js';
import { PROMPT, toyGroupConfig, toyRewards, toySFTModel, toyTokenizer } from './harness/toy_task.js';

const test = suite('grpo');

let sft: Promise<CausalLM> | undefined;
const sftModel = async () => (sft ??= backend().then((be) => toySFTModel(be)));

const close = (a: ArrayLike<number>, b: number[], tol = 1e-9) => {
  assert.is(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `[${i}] ${a[i]} vs ${b[i]}`);
};

test('GRPO advantages: group mean and std (+1e-4), batch std, none; a zero-variance group gives 0; unscorable completions give 0', () => {
  // Two groups of 3: [1, 2, 3] (mean 2, std 1) and [5, 5, 5] (std 0).
  const r = [1, 2, 3, 5, 5, 5];
  const group = grpoAdvantages(r, 3, 'group');
  close(group.advantages, [-1 / 1.0001, 0, 1 / 1.0001, 0, 0, 0]);
  assert.equal(group.zeroStd, [false, false, false, true, true, true]);
  const batchStd = Math.sqrt(r.reduce((a, x) => a + (x - 3.5) ** 2, 0) / 5);
  close(grpoAdvantages(r, 3, 'batch').advantages, [-1, 0, 1, 0, 0, 0].map((d) => d / (batchStd + 1e-4)));
  close(grpoAdvantages(r, 3, 'none').advantages, [-1, 0, 1, 0, 0, 0]);
  // NaN (no function applied) is left out of the group's mean and std, and gets 0.
  close(grpoAdvantages([0, NaN, 2, 4], 4, 'none').advantages, [-2, 0, 0, 2]);
});

test('RLOO advantages: the leave-one-out baseline, over scorable siblings; optional normalisation', () => {
  // [1, 2, 6]: baselines (2+6)/2, (1+6)/2, (1+2)/2.
  close(rlooAdvantages([1, 2, 6], 3, false).advantages, [1 - 4, 2 - 3.5, 6 - 1.5]);
  close(rlooAdvantages([1, NaN, 3], 3, false).advantages, [1 - 3, 0, 3 - 1]);
  const a = [1 - 4, 2 - 3.5, 6 - 1.5];
  const mean = a.reduce((s, x) => s + x, 0) / 3;
  const std = Math.sqrt(a.reduce((s, x) => s + (x - mean) ** 2, 0) / 2);
  close(rlooAdvantages([1, 2, 6], 3, true).advantages, a.map((x) => (x - mean) / (std + 1e-4)));
});

const batch = (completions: string[], extra: Record<string, unknown> = {}) => ({
  prompts: completions.map((_, i) => `p${i}`), completions, completionIds: completions.map((c) => [...c].map((ch) => ch.charCodeAt(0))),
  records: completions.map((_, i) => ({ prompt: `p${i}`, ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, (v as unknown[])[i]])) })),
  state: { global_step: 0, max_steps: 1 },
});

test('reward functions: TRL\'s contract (prompts, completions, {completion_ids, columns}); null is NaN; token-level rewards; typed errors name the function and prompt', async () => {
  const seen: unknown[] = [];
  const lengths: RewardFunc = function lengths(prompts, completions, kw) {
    seen.push(prompts, kw.answer, kw.trainer_state.global_step);
    return completions.map((c, i) => (i === 1 ? null : c.length));
  };
  const perToken: RewardFunc = async (_p, _c, { completion_ids }) => completion_ids.map((ids) => ids.map((id) => (id === 97 ? 1 : 0)));
  const got = await callRewardFuncs([lengths, perToken], batch(['ab', 'c', 'aaa'], { answer: [1, 2, 3] }));
  assert.equal(seen, [['p0', 'p1', 'p2'], [1, 2, 3], 0]);
  assert.equal([...got.sequence[0]!], [2, NaN, 3]);
  assert.is(got.tokens[0], undefined);
  assert.equal(got.tokens[1], [[1, 0], [0], [1, 1, 1]]);
  const throws: RewardFunc = function strict(_p, completions) {
    if (completions.includes('bad')) throw new Error('cannot parse');
    return completions.map(() => 1);
  };
  await rejectsWith(callRewardFuncs([throws], batch(['ok', 'bad'])), (e) => e instanceof RewardFunctionError && e.func === 'strict' && e.prompt === 'p1' && /threw on completion 1 \(prompt "p1"\): cannot parse/.test(e.message), 'a throw');
  const short: RewardFunc = function short() {
    return [1];
  };
  await rejectsWith(callRewardFuncs([short], batch(['a', 'b'])), errorOf(RewardFunctionError, /short\d* returned 1 rewards for 2 completions/), 'wrong length');
  const nan: RewardFunc = function nan() {
    return [1, NaN];
  };
  await rejectsWith(callRewardFuncs([nan], batch(['a', 'b'])), errorOf(RewardFunctionError, /nan\d* returned NaN for completion 1 \(prompt "p1"\)/), 'NaN');
  const ragged: RewardFunc = function ragged() {
    return [[1, 2], [1]];
  };
  await rejectsWith(callRewardFuncs([ragged], batch(['ab', 'cd'])), errorOf(RewardFunctionError, /ragged\d* returned 1 token rewards for completion 1 \(prompt "p1"\); it has 2 tokens/), 'token rewards of the wrong length');
});

test('built-in rewards: accuracy (answer column), format, soft overlong punishment and repetition penalty as TRL defines them', async () => {
  const call = (f: RewardFunc, completions: string[], extra: Record<string, unknown> = {}) => callRewardFuncs([f], batch(completions, extra)).then((r) => [...r.sequence[0]!]);
  assert.equal(await call(accuracyReward, ['x. The answer is 7', 'The answer is 8', 'no answer', 'The answer is 3'], { answer: [7, 7, 7, undefined], solution: [0, 0, 0, 'So. The answer is 3'] }), [1, 0, 0, 1]);
  assert.equal(await call(accuracyReward, ['The answer is 1'], {}), [NaN], 'no answer column: does not apply');
  assert.equal(await call(formatReward(/^Step/), ['Step 1', 'step 1']), [1, 0]);
  // DAPO: max 10, cache 4 → free up to 6, then (6 − L)/4, −1 beyond 10.
  const f = softOverlongPunishment(10, 4);
  assert.equal(await call(f, ['aaaaaa', 'aaaaaaaa', 'aaaaaaaaaa', 'aaaaaaaaaaa']), [0, -0.5, -1, -1]);
  // TRL's own example: ngram 2, [1,2,3,4] → 0 and [5,5,5,5,5] → −0.75.
  const g = repetitionPenalty(2, -1);
  const ids = await callRewardFuncs([g], { ...batch(['', '']), completionIds: [[1, 2, 3, 4], [5, 5, 5, 5, 5]] });
  assert.equal([...ids.sequence[0]!], [0, -0.75]);
  assert.throws(() => repetitionPenalty(2, 1), (e: unknown) => e instanceof ConfigError);
});

test('importRewardFuncs: a module\'s exported functions in this runtime (a data: URL here; a file or http URL alike)', async () => {
  const source = 'export function right(p, c) { return c.map(() => 1); }\nexport const wrong = (p, c) => c.map(() => 0);\nexport const notAFunction = 3;';
  const funcs = await importRewardFuncs(`data:text/javascript,${encodeURIComponent(source)}`);
  assert.equal(funcs.map((f) => f.name), ['right', 'wrong']);
  const only = await importRewardFuncs(`data:text/javascript,${encodeURIComponent(source)}`, 'wrong');
  assert.equal(await only[0]!(['p'], ['c'], { completion_ids: [[1]], trainer_state: { global_step: 0, max_steps: 1 } }), [0]);
  await rejectsWith(importRewardFuncs(`data:text/javascript,${encodeURIComponent(source)}`, 'nope'), errorOf(ConfigError, /exports no function named "nope" \(its exported functions: right, wrong\)/), 'a missing export');
});

test('GRPO trains in this runtime: TRL\'s metric keys, finite, and the ratio exactly 1 at μ = 1 (learning is in grpo_trainers)', async () => {
  const policy = (await sftModel()).clone();
  const trainer = new GRPOTrainer({ policy, tokenizer: toyTokenizer, config: grpoConfig(toyGroupConfig({ max_steps: 2 })), train: [{ prompt: PROMPT }], reward_funcs: toyRewards });
  const steps: number[] = [];
  await trainer.train({
    onStep: (e) => {
      for (const k of ['reward', 'reward_std', 'rewards/count_a/mean', 'rewards/count_a/std', 'frac_reward_zero_std', 'completions/mean_length', 'completions/clipped_ratio', 'entropy', 'clip_ratio/low_mean', 'clip_ratio/high_mean', 'clip_ratio/region_mean', 'loss', 'grad_norm', 'num_tokens']) {
        assert.ok(Number.isFinite(e.metrics[k]), `step ${e.step}: ${k} = ${e.metrics[k]}`);
      }
      assert.is(e.metrics['clip_ratio/region_mean'], 0, 'μ = 1: the ratio is exactly 1');
      assert.ok(e.metrics.grad_norm! > 0);
      steps.push(e.step);
    },
  });
  assert.equal(steps, [1, 2]);
  policy.dispose();
});

test('GRPO config and init errors name the key and the fix', async () => {
  assert.throws(() => grpoConfig({ per_device_train_batch_size: 6, num_generations: 4 }), (e: unknown) => e instanceof ConfigError && /multiple of num_generations \(4\)/.test(e.message));
  assert.throws(() => grpoConfig({ loss_type: 'ppo' as never }), (e: unknown) => e instanceof ConfigError && /loss_type/.test(e.message));
  const policy = await sftModel();
  assert.throws(() => new GRPOTrainer({ policy, tokenizer: toyTokenizer, config: grpoConfig(toyGroupConfig({ beta: 0.1 })), train: [{ prompt: PROMPT }], reward_funcs: toyRewards }), (e: unknown) => e instanceof ConfigError && /needs a reference model/.test(e.message));
  assert.throws(() => new GRPOTrainer({ policy, tokenizer: toyTokenizer, config: grpoConfig(toyGroupConfig({ reward_weights: [1, 2] })), train: [{ prompt: PROMPT }], reward_funcs: toyRewards }), (e: unknown) => e instanceof ConfigError && /2 weight\(s\) for 1 reward function/.test(e.message));
  assert.throws(() => new GRPOTrainer({ policy, tokenizer: toyTokenizer, config: grpoConfig(toyGroupConfig({ max_completion_length: 40 })), train: [{ prompt: PROMPT }], reward_funcs: toyRewards }), (e: unknown) => e instanceof ConfigError && /max_completion_length 40 leaves no room/.test(e.message));
  const perToken: RewardFunc = (_p, _c, { completion_ids }) => completion_ids.map((ids) => ids.map(() => 0));
  const rloo = new RLOOTrainer({ policy: policy.clone(), tokenizer: toyTokenizer, config: rlooConfig(toyGroupConfig({ max_steps: 1, beta: 0 })), train: [{ prompt: PROMPT }], reward_funcs: perToken });
  await rejectsWith(rloo.train(), errorOf(RewardFunctionError, /RLOO takes one reward per completion/), 'token rewards given to RLOO');
  rloo.policy.dispose();
});

test.after(async () => {
  (await sft)?.dispose();
});

test.run();
