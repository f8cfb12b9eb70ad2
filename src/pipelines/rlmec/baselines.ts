// The baselines of RLMEC's table (ALGORITHMS.md §5), each trained from the same starting
// policy on the same problems and samples, for as many optimizer steps as RLMEC (PPO: as
// many sampled solutions as the others saw): SFT on the problems' reference solutions, RFT
// on the policy's own correct samples, DPO on (correct, wrong) pairs, PPO with a 0/1
// correctness reward.
import { dpoConfig } from '../../algorithms/dpo/config.js';
import { DPOTrainer } from '../../algorithms/dpo/trainer.js';
import { sftConfig } from '../../algorithms/sft/config.js';
import { SFTTrainer } from '../../algorithms/sft/trainer.js';
import { isCorrect, promptOf, type ReasoningProblem } from '../../data/problems.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import type { Solution } from '../../tasks/solve.js';
import type { Tokenizer } from '../../text/tokenizer.js';
import { peftConfig, trainedCopy } from '../../training/config/peft.js';
import type { TrainOptions } from '../../training/trainer.js';
import { trainPPOStage } from '../ppo_stage.js';
import type { RLMECRunConfig } from './run_config.js';

export interface BaselineInput {
  /** The starting policy; with config.use_peft frozen, and each baseline an adapter on it. */
  start: CausalLM;
  /** Where the start's weights are (an adapter's base_model_name_or_path), when known. */
  base: string | null;
  tokenizer: Tokenizer;
  config: RLMECRunConfig;
  seed: number;
  problems: readonly ReasoningProblem[];
  samples: readonly Solution[];
  /** RLMEC's optimizer steps: the budget of SFT, RFT and DPO. */
  steps: number;
  /** Where a baseline's training writes (its stage's run folder, named after the method) and its progress bar's metric. */
  train: (method: string, keyMetric: string) => Promise<TrainOptions>;
}

/** A trained baseline, or why it could not train (no correct samples for RFT, no pairs for DPO). */
export type BaselineResult = { model: CausalLM } | { skipped: string };

const schedule = (c: RLMECRunConfig, seed: number, steps: number) => ({
  seed,
  max_steps: steps,
  lr_scheduler_type: c.lr_scheduler_type,
  warmup_ratio: c.warmup_ratio,
  weight_decay: c.weight_decay,
  max_grad_norm: c.max_grad_norm,
  per_device_train_batch_size: c.per_device_train_batch_size,
  save_steps: c.save_steps,
  logging_steps: c.logging_steps,
  max_length: c.max_length,
});

async function sftOn(i: BaselineInput, method: string, records: { prompt: string; completion: string }[]): Promise<BaselineResult> {
  const model = await trainedCopy(i.start, i.config, { base: i.base });
  const config = sftConfig({ ...schedule(i.config, i.seed, i.steps), learning_rate: i.config.baseline_learning_rate });
  try {
    const trainer = new SFTTrainer({ model, tokenizer: i.tokenizer, config, train: records });
    await trainer.train(await i.train(method, trainer.keyMetric));
    return { model };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** SFT on the reference solutions of the problems the RL methods sample on. */
export function trainSFTOnProblems(i: BaselineInput): Promise<BaselineResult> {
  return sftOn(i, 'sft_more', i.problems.map((p) => ({ prompt: promptOf(p), completion: p.solution })));
}

/** Rejection-sampling fine-tuning: SFT on the policy's own correct samples (each distinct one once). */
export function trainRFT(i: BaselineInput): Promise<BaselineResult> {
  const distinct = new Map(i.samples.filter((s) => s.correct).map((s) => [`${s.problem.question}\u0000${s.text}`, s]));
  const records = [...distinct.values()];
  if (!records.length) return Promise.resolve({ skipped: 'no correct samples to fine-tune on' });
  return sftOn(i, 'rft', records.map((s) => ({ prompt: promptOf(s.problem), completion: s.text })));
}

/** DPO on pairs of a problem's correct and wrong samples (each wrong sample paired with a correct one in turn). */
export async function trainDPO(i: BaselineInput): Promise<BaselineResult> {
  const byProblem = new Map<ReasoningProblem, { right: string[]; wrong: string[] }>();
  for (const s of i.samples) {
    const entry = byProblem.get(s.problem) ?? { right: [], wrong: [] };
    (s.correct ? entry.right : entry.wrong).push(s.text);
    byProblem.set(s.problem, entry);
  }
  const pairs = [...byProblem].flatMap(([p, { right, wrong }]) => (right.length ? wrong.map((w, k) => ({ prompt: promptOf(p), chosen: right[k % right.length]!, rejected: w })) : []));
  if (!pairs.length) return { skipped: 'no problem has both a correct and a wrong sample' };
  const policy = await trainedCopy(i.start, i.config, { base: i.base });
  // With an adapter π_ref is the start itself (frozen already): no copy of the weights.
  const reference = i.config.use_peft ? undefined : i.start.clone().freeze();
  try {
    const config = dpoConfig({ ...schedule(i.config, i.seed, i.steps), learning_rate: i.config.dpo_learning_rate, beta: i.config.dpo_beta, max_prompt_length: Math.max(1, i.config.max_length - i.config.max_new_tokens - 1) });
    const trainer = new DPOTrainer({ policy, reference: reference ?? i.start, tokenizer: i.tokenizer, config, train: pairs });
    await trainer.train(await i.train('dpo', trainer.keyMetric));
    return { model: policy };
  } catch (e) {
    policy.dispose();
    throw e;
  } finally {
    reference?.dispose();
  }
}

/** PPO with reward 1 for a right final answer, 0 otherwise, on as many sampled solutions as the others saw. */
export async function trainPPO(i: BaselineInput): Promise<BaselineResult> {
  const c = i.config;
  const byPrompt = new Map(i.problems.map((p) => [promptOf(p), p]));
  const correctness = (batch: { prompt: number[]; response: number[] }[]) =>
    batch.map((s) => {
      const problem = byPrompt.get(i.tokenizer.decode(s.prompt, { skipSpecialTokens: true }));
      return problem && isCorrect(problem, i.tokenizer.decode(s.response, { skipSpecialTokens: true })) ? 1 : 0;
    });
  // No reward model to start the value model from: it starts from the policy's start (with
  // use_peft an adapter on it with a value head, as the policy is).
  const lora = c.use_peft ? { lora: peftConfig(c, 'CAUSAL_LM', i.base) } : {};
  const model = await trainPPOStage({
    models: { sft: i.start, reward: correctness, valueFrom: i.start, ...lora },
    tokenizer: i.tokenizer,
    prompts: i.problems.map(promptOf),
    keys: c,
    seed: i.seed,
    config: { lr_scheduler_type: c.lr_scheduler_type, warmup_ratio: c.warmup_ratio, total_episodes: i.samples.length, temperature: c.temperature, save_steps: c.save_steps },
    train: (keyMetric) => i.train('ppo', keyMetric),
  });
  return { model };
}
