// The toy task of the RLHF end-to-end suites: after the prompt ">", a response is a few
// letters from "abcd" and EOS; the reward is how many times it contains "a". A small model
// learns the format by SFT in the test (about a second), and then each trainer has a clear
// signal to move: PPO raises the count of "a", the reward model and DPO learn to prefer it.
import { AdamW, CausalLM, PPOLearner, byteTokenizer, gptConfig, lmTrainStep, namedReward, type Backend, type LlamaConfig, type ModelConfig, type RewardFunc } from 'webrlhf';
import { rng } from './reference.js';

export const toyTokenizer = byteTokenizer();
export const TOY_CONFIG = gptConfig({ vocab_size: toyTokenizer.vocabSize, n_positions: 24, n_embd: 32, n_layer: 1, n_head: 2 });
export const PROMPT = '>';
const LETTERS = 'abcd';
export const EOS = toyTokenizer.eosTokenId!;
export const PAD = toyTokenizer.padTokenId!;

export function countA(text: string): number {
  return [...text].filter((c) => c === 'a').length;
}

/** A random response of `length` letters. */
export function randomLetters(r: () => number, length: number): string {
  return Array.from({ length }, () => LETTERS[Math.floor(r() * LETTERS.length)]).join('');
}

/** Preference pairs: two random responses, the one with more "a" chosen (ties redrawn). */
export function toyPairs(n: number, seed: number): { prompt: string; chosen: string; rejected: string }[] {
  const r = rng(seed);
  const out = [];
  while (out.length < n) {
    const x = randomLetters(r, 6);
    const y = randomLetters(r, 6);
    if (countA(x) === countA(y)) continue;
    const [chosen, rejected] = countA(x) > countA(y) ? [x, y] : [y, x];
    out.push({ prompt: PROMPT, chosen, rejected });
  }
  return out;
}

/** PPOLearner's settings for the toy task (8-token responses, EOS-stopped, seeded). */
export const TOY_PPO = {
  kl_coef: 0.05, kl_estimator: 'k1', cliprange: 0.2, cliprange_value: 0.2, vf_coef: 0.1, gamma: 1, lam: 0.95, whiten_rewards: false,
  num_ppo_epochs: 4, num_mini_batches: 2, temperature: 1, response_length: 8, missing_eos_penalty: 1, stop_token_id: EOS, pad_token_id: PAD, seed: 3,
  local_rollout_forward_batch_size: 64,
} as const;

/**
 * PPO on the toy task from an SFT model: the policy and reference are copies of it, the
 * value model has its weights and a new head, and the reward counts the "a"s; the prompts.
 */
export async function toyPPO(sft: CausalLM): Promise<{ learner: PPOLearner; models: CausalLM[]; prompts: number[][] }> {
  const policy = sft.clone();
  const reference = sft.clone().freeze();
  const value = await policy.withHeads({ value: true });
  const learner = new PPOLearner(
    { policy, reference, value, reward: (samples) => samples.map((s) => countA(toyTokenizer.decode(s.response))) },
    { policy: new AdamW(policy, { lr: 1e-3, weight_decay: 0 }), value: new AdamW(value, { lr: 1e-3, weight_decay: 0 }) },
    TOY_PPO,
  );
  return { learner, models: [policy, reference, value], prompts: Array.from({ length: 32 }, () => toyTokenizer.encode(PROMPT)) };
}

/** The toy task's model in the Llama family: grouped-query attention, rotary positions, SwiGLU, an untied head. */
export const TOY_LLAMA_CONFIG: LlamaConfig = {
  model_type: 'llama', vocab_size: toyTokenizer.vocabSize, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1,
  num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 24, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: false,
};

/** The SFT model of the toy task, trained on random 6-letter responses. */
export async function toySFTModel(be: Backend, config: ModelConfig = TOY_CONFIG): Promise<CausalLM> {
  const model = CausalLM.create(be, config, { seed: 1 });
  const opt = new AdamW(model, { lr: 3e-3, weight_decay: 0 });
  const r = rng(2);
  const prompt = toyTokenizer.encode(PROMPT);
  for (let step = 0; step < 80; step++) {
    const rows = Array.from({ length: 16 }, () => [...prompt, ...toyTokenizer.encode(randomLetters(r, 6)), EOS]);
    await lmTrainStep(model, opt, { inputIds: rows, labels: rows.map((row) => row.map((id, t) => (t < prompt.length ? -100 : id))) });
  }
  opt.dispose();
  return model;
}

/** GRPO's and RLOO's reward on the toy task: the count of "a" (named explicitly: the test bundle renames same-named functions). */
export const toyRewards: RewardFunc = namedReward('count_a', (_p, completions) => completions.map(countA));

/** GRPOConfig/RLOOConfig keys for the toy task: 8 completions of up to 8 tokens per prompt, 16 per micro-batch. */
export const toyGroupConfig = (extra: object = {}) => ({
  max_steps: 6, per_device_train_batch_size: 16, num_generations: 8, max_completion_length: 8, learning_rate: 3e-3, temperature: 1,
  save_steps: 1000, logging_steps: 1, seed: 5, ...extra,
});
