// node examples/node/grpo.mjs [auto|webgpu|wasm] — align a model with a reward function
// written in a few lines (GRPO, docs/GRPO.md), on the built-in arithmetic task (nothing
// downloaded): a small GPT-2 learns the task by a short SFT, then GRPO samples 8 solutions
// per problem, scores them with the functions below and pushes the policy towards the ones
// that beat their siblings. No reward model is trained.
import {
  CausalLM, GRPOTrainer, SFTTrainer, arithmeticSplits, byteTokenizer, createRuntime, fromArithmetic, gptConfig, grpoConfig, problemPrompt, sftConfig,
  testAccuracy,
} from 'webrlhf';

// The reward: TRL's contract, (prompts, completions, { completion_ids, ...dataset columns }) →
// one number per completion. `answer` is a column of the rows given to the trainer below.
function right_answer(prompts, completions, { answer }) {
  return completions.map((c, i) => Number(/The answer is (-?\d+)/.exec(c)?.[1] === String(answer[i])));
}
// A small format term (weight 0.2 below): steps like "3+5=8", one per line, then the answer line and nothing else.
function well_formed(prompts, completions) {
  return completions.map((c) => Number(/^(\d+[-+*]\d+=-?\d+\n)+The answer is -?\d+$/.test(c)));
}

const rt = await createRuntime({ backend: process.argv[2] ?? 'auto' });
console.log(`${rt.runtime} · ${rt.choice.chosen} backend (${rt.choice.reason})`);
const tokenizer = byteTokenizer();
const policy = CausalLM.create(rt.backend, gptConfig({ vocab_size: tokenizer.vocabSize, n_positions: 128, n_embd: 64, n_layer: 2, n_head: 4 }), { seed: 1 });
const splits = arithmeticSplits({ seed: 1, difficulty: 1, sft: 800, rl: 256, test: 256 });
const test = splits.test.map(fromArithmetic);
const gen = { max_new_tokens: 32, batch_size: 128 };

// A short SFT: GRPO needs a policy that is right now and then, or every group scores the same.
await new SFTTrainer({ model: policy, tokenizer, config: sftConfig({ max_steps: 300, learning_rate: 5e-3, per_device_train_batch_size: 16 }), train: splits.sft }).train();
const before = await testAccuracy(policy, tokenizer, test, gen);

// Each row is a prompt and the columns the reward functions read (TRL's prompt-only format).
const train = splits.rl.map((p) => ({ prompt: problemPrompt(p), answer: p.answer }));
// 16 prompts × 8 completions per step. RL's gradients are noisy: a learning rate much above this one undoes the SFT.
const config = grpoConfig({ max_steps: 40, learning_rate: 3e-4, num_generations: 8, per_device_train_batch_size: 128, max_completion_length: 26, reward_weights: [1, 0.2], seed: 1 });
const rewards = [];
await new GRPOTrainer({ policy, tokenizer, config, train, reward_funcs: [right_answer, well_formed] }).train({
  onStep: ({ step, totalSteps, metrics }) => {
    rewards.push(metrics.reward);
    if (step % 8 === 0) console.log(`  grpo step ${step}/${totalSteps}: reward ${metrics.reward.toFixed(3)} (right ${metrics['rewards/right_answer/mean'].toFixed(2)}, well-formed ${metrics['rewards/well_formed/mean'].toFixed(2)})`);
  },
});
const after = await testAccuracy(policy, tokenizer, test, gen);
// Per-step rewards are noisy (16 prompts each): compare the means of the first and last 8 steps.
const mean = (xs) => (xs.reduce((a, x) => a + x, 0) / xs.length).toFixed(3);
console.log(`GRPO: ${rewards.length} steps of ${config.per_device_train_batch_size} completions, mean reward ${mean(rewards.slice(0, 8))} (first 8 steps) → ${mean(rewards.slice(-8))} (last 8); greedy test accuracy ${pct(before.accuracy)} → ${pct(after.accuracy)} (${test.length} problems)`);
policy.dispose();
rt.dispose();

function pct(x) {
  return `${(100 * x).toFixed(1)}%`;
}
