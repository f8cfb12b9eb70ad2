// GRPO and RLOO trainers on the toy task, on Node's two legs (the shared grpo suite covers the
// contract and a short GRPO run in every runtime): GRPO learning, token rewards alone moving the policy, μ > 1
// against π_old, RLOO learning, and GRPO on a LoRA adapter of a Llama-family model with β > 0
// resumed exactly from a checkpoint taken in the middle of a generation.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CausalLM, GRPOTrainer, RLOOTrainer, grpoConfig, memoryRunStorage, openRun, rlooConfig, type RewardFunc } from 'webrlhf';
import { legBackendInstance as backend } from './harness/runtime.js';
import { PROMPT, TOY_LLAMA_CONFIG, toyGroupConfig, toyRewards, toySFTModel, toyTokenizer } from './harness/toy_task.js';

const test = suite('grpo trainers');

let sft: Promise<CausalLM> | undefined;
const sftModel = async () => (sft ??= backend().then((be) => toySFTModel(be)));

test('GRPO raises the toy task\'s reward, with TRL\'s metric keys', async () => {
  const policy = (await sftModel()).clone();
  const config = grpoConfig(toyGroupConfig({ max_steps: 8 }));
  const trainer = new GRPOTrainer({ policy, tokenizer: toyTokenizer, config, train: [{ prompt: PROMPT }], reward_funcs: toyRewards });
  const rewards: number[] = [];
  await trainer.train({
    onStep: (e) => {
      for (const k of ['reward', 'reward_std', 'rewards/count_a/mean', 'rewards/count_a/std', 'frac_reward_zero_std', 'completions/mean_length', 'completions/clipped_ratio', 'entropy', 'clip_ratio/low_mean', 'clip_ratio/high_mean', 'clip_ratio/region_mean', 'loss', 'grad_norm', 'num_tokens']) {
        assert.ok(Number.isFinite(e.metrics[k]), `step ${e.step}: ${k} = ${e.metrics[k]}`);
      }
      assert.is(e.metrics['clip_ratio/region_mean'], 0, 'μ = 1: the ratio is exactly 1');
      rewards.push(e.metrics.reward!);
    },
  });
  const first = (rewards[0]! + rewards[1]!) / 2;
  const last = (rewards[5]! + rewards[6]! + rewards[7]!) / 3;
  assert.ok(last > first + 0.7, `mean count of "a" ${first.toFixed(2)} → ${last.toFixed(2)} (${rewards.map((r) => r.toFixed(2)).join(' ')})`);
  policy.dispose();
});

test('token-level rewards alone move the policy: a constant sequence reward gives zero group advantages, the per-token rewards still train', async () => {
  const policy = (await sftModel()).clone();
  const constant: RewardFunc = function constant(_p, completions) {
    return completions.map(() => 1);
  };
  const perToken: RewardFunc = function a_tokens(_p, _c, { completion_ids }) {
    return completion_ids.map((ids) => ids.map((id) => (id === 'a'.charCodeAt(0) ? 0.5 : 0)));
  };
  const counts: number[] = [];
  const trainer = new GRPOTrainer({ policy, tokenizer: toyTokenizer, config: grpoConfig(toyGroupConfig({ max_steps: 8 })), train: [{ prompt: PROMPT }], reward_funcs: [constant, perToken] });
  await trainer.train({ onStep: (e) => {
    assert.is(e.metrics.frac_reward_zero_std, 1);
    counts.push(e.metrics['rewards/a_tokens/mean']! / 0.5);
  } });
  assert.ok(counts.slice(-3).reduce((a, x) => a + x, 0) / 3 > (counts[0]! + counts[1]!) / 2 + 0.5, `"a" per completion: ${counts.map((c) => c.toFixed(2)).join(' ')}`);
  policy.dispose();
});

test('μ = num_iterations > 1 takes the ratio against π_old (the second pass clips); RLOO learns too', async () => {
  const policy = (await sftModel()).clone();
  const clips: number[] = [];
  const trainer = new GRPOTrainer({ policy, tokenizer: toyTokenizer, config: grpoConfig(toyGroupConfig({ max_steps: 4, num_iterations: 2, learning_rate: 2e-2, epsilon: 0.05 })), train: [{ prompt: PROMPT }], reward_funcs: toyRewards });
  await trainer.train({ onStep: (e) => clips.push(e.metrics['clip_ratio/region_mean']!) });
  assert.is(clips[0], 0, 'first pass: π_old is the policy itself');
  assert.ok(clips[1]! > 0 && clips[3]! > 0, `second passes clip: ${clips.join(' ')}`);
  policy.dispose();

  const reference = (await sftModel()).clone().freeze();
  const rlooPolicy = (await sftModel()).clone();
  const rewards: number[] = [];
  const rloo = new RLOOTrainer({ policy: rlooPolicy, reference, tokenizer: toyTokenizer, config: rlooConfig(toyGroupConfig({ max_steps: 8, num_generations: 4, learning_rate: 3e-3 })), train: [{ prompt: PROMPT }], reward_funcs: toyRewards });
  await rloo.train({ onStep: (e) => {
    assert.ok(Number.isFinite(e.metrics.kl), 'RLOO reports the KL of its reward');
    rewards.push(e.metrics.reward!);
  } });
  assert.ok(rewards.slice(-3).reduce((a, x) => a + x, 0) / 3 > (rewards[0]! + rewards[1]!) / 2 + 0.5, `RLOO reward: ${rewards.map((r) => r.toFixed(2)).join(' ')}`);
  rlooPolicy.dispose();
  reference.dispose();
});

test('GRPO on a LoRA adapter of a Llama-family model with β > 0: the base is π_ref; a checkpoint mid-generation resumes exactly', async () => {
  const base = (await toySFTModel(await backend(), TOY_LLAMA_CONFIG)).freeze();
  const run = async (storage: ReturnType<typeof memoryRunStorage>, resume: boolean, stopAfter?: number) => {
    const policy = await base.withAdapter({ r: 4, lora_alpha: 8, target_modules: 'all-linear', lora_dropout: 0 }, { seed: 3 });
    const config = grpoConfig(toyGroupConfig({ max_steps: 4, save_steps: 1, num_iterations: 2, beta: 0.04, learning_rate: 1e-2, per_device_train_batch_size: 8, gradient_accumulation_steps: 1, steps_per_generation: 2 }));
    const trainer = new GRPOTrainer({ policy, tokenizer: toyTokenizer, config, train: [{ prompt: PROMPT }, { prompt: '>>' }], reward_funcs: toyRewards });
    const stop = new AbortController();
    try {
      return await trainer.train({ run: await openRun(storage, { config, resume }), signal: stop.signal, onStep: (e) => {
        assert.ok(Number.isFinite(e.metrics.kl), `step ${e.step}: kl ${e.metrics.kl}`);
        if (e.step === stopAfter) stop.abort();
      } });
    } finally {
      policy.dispose();
    }
  };
  const text = (files: Map<string, Uint8Array>, name: string) => new TextDecoder().decode(files.get(name));
  const straight = memoryRunStorage();
  await run(straight, false);
  // A generation spans 2 micro-batches × 2 iterations = 4 steps: checkpoint 2 is inside it.
  const stopped = memoryRunStorage();
  await run(stopped, false, 2).catch(() => undefined);
  assert.ok(!stopped.files.has('final/adapter_model.safetensors'));
  const resumed = await run(stopped, true);
  assert.is(resumed.resumedFrom, 2);
  assert.is(text(stopped.files, 'metrics.jsonl'), text(straight.files, 'metrics.jsonl'));
  assert.equal([...stopped.files.get('final/adapter_model.safetensors')!], [...straight.files.get('final/adapter_model.safetensors')!]);
  base.dispose();
});

test('gradient accumulation: 2 micro-batches of 8 give the step 1 micro-batch of 16 gives (loss and gradient norm), for grpo and dapo', async () => {
  for (const loss_type of ['grpo', 'dapo'] as const) {
    const step = async (per_device_train_batch_size: number, gradient_accumulation_steps: number) => {
      const policy = (await sftModel()).clone();
      const trainer = new GRPOTrainer({ policy, tokenizer: toyTokenizer, config: grpoConfig(toyGroupConfig({ max_steps: 1, loss_type, per_device_train_batch_size, gradient_accumulation_steps })), train: [{ prompt: PROMPT }, { prompt: '>>' }], reward_funcs: toyRewards });
      try {
        return (await trainer.train()).metrics;
      } finally {
        policy.dispose();
      }
    };
    const [one, two] = [await step(16, 1), await step(8, 2)];
    for (const key of ['loss', 'grad_norm', 'reward', 'entropy']) {
      assert.ok(Math.abs(one[key]! - two[key]!) <= 1e-4 * Math.max(1, Math.abs(one[key]!)), `${loss_type} ${key}: ${one[key]} (1 × 16) vs ${two[key]} (2 × 8)`);
    }
    assert.ok(one.grad_norm! > 0);
  }
});

test.after(async () => {
  (await sft)?.dispose();
});

test.run();
