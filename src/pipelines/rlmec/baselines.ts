// The baselines of RLMEC's table (ALGORITHMS.md §5), each trained from the same starting
// policy on the same problems and samples, for as many optimizer steps as RLMEC (the online
// methods: as many sampled solutions as the others saw): SFT on the problems' reference
// solutions, RFT on the policy's own correct samples, DPO on (correct, wrong) pairs, PPO,
// RLOO and GRPO with a 0/1 correctness reward, and GRPO with the seed's GRM's token rewards
// added to that reward's group-relative advantage.
import { dpoConfig } from '../../algorithms/dpo/config.js';
import { DPOTrainer } from '../../algorithms/dpo/trainer.js';
import { accuracyReward } from '../../algorithms/grpo/builtin_rewards.js';
import { grpoConfig } from '../../algorithms/grpo/config.js';
import type { GroupConfig } from '../../algorithms/grpo/group_config.js';
import type { RewardFunc } from '../../algorithms/grpo/reward_funcs.js';
import { GRPOTrainer, type GRPOTrainerInit } from '../../algorithms/grpo/trainer.js';
import { grmTokenReward } from '../../algorithms/rlmec/grm_token_reward.js';
import { rlooConfig } from '../../algorithms/rloo/config.js';
import { RLOOTrainer } from '../../algorithms/rloo/trainer.js';
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
  /** The GRM trained in the seed's first RLMEC round: the token rewards of GRPO + GRM. */
  grm: CausalLM;
  /** Where a baseline's training writes (its stage's run folder, named after the method) and its progress bar's metric. */
  train: (method: string, keyMetric: string) => Promise<TrainOptions>;
}

/** A trained baseline, or why it could not train (no correct samples for RFT, no pairs for DPO). */
export type BaselineResult = { model: CausalLM } | { skipped: string };

/** The optimizer's schedule and the run folder's cadence, as RLMEC's (every baseline). */
const optimizerKeys = (c: RLMECRunConfig, seed: number) => ({
  seed,
  lr_scheduler_type: c.lr_scheduler_type,
  warmup_ratio: c.warmup_ratio,
  weight_decay: c.weight_decay,
  max_grad_norm: c.max_grad_norm,
  save_steps: c.save_steps,
  logging_steps: c.logging_steps,
});

/** The offline baselines' keys: RLMEC's steps, batch and row length. */
const schedule = (c: RLMECRunConfig, seed: number, steps: number) => ({
  ...optimizerKeys(c, seed),
  max_steps: steps,
  per_device_train_batch_size: c.per_device_train_batch_size,
  max_length: c.max_length,
});

/** A new policy from the start (a copy, or with use_peft an adapter on it) trained by `train`; freed if training fails. */
async function trainedFromStart(i: BaselineInput, train: (policy: CausalLM) => Promise<void>): Promise<BaselineResult> {
  const policy = await trainedCopy(i.start, i.config, { base: i.base });
  try {
    await train(policy);
    return { model: policy };
  } catch (e) {
    policy.dispose();
    throw e;
  }
}

/**
 * `use` given π_ref: with use_peft the start itself (frozen, the adapters' base: no copy of
 * the weights), else a frozen copy of it, freed after.
 */
async function withReference<T>(i: BaselineInput, use: (reference: CausalLM) => Promise<T>): Promise<T> {
  const copy = i.config.use_peft ? undefined : i.start.clone().freeze();
  try {
    return await use(copy ?? i.start);
  } finally {
    copy?.dispose();
  }
}

function sftOn(i: BaselineInput, method: string, records: { prompt: string; completion: string }[]): Promise<BaselineResult> {
  const config = sftConfig({ ...schedule(i.config, i.seed, i.steps), learning_rate: i.config.baseline_learning_rate });
  return trainedFromStart(i, async (model) => {
    const trainer = new SFTTrainer({ model, tokenizer: i.tokenizer, config, train: records });
    await trainer.train(await i.train(method, trainer.keyMetric));
  });
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
  const config = dpoConfig({ ...schedule(i.config, i.seed, i.steps), learning_rate: i.config.dpo_learning_rate, beta: i.config.dpo_beta, max_prompt_length: Math.max(1, i.config.max_length - i.config.max_new_tokens - 1) });
  return withReference(i, (reference) =>
    trainedFromStart(i, async (policy) => {
      const trainer = new DPOTrainer({ policy, reference, tokenizer: i.tokenizer, config, train: pairs });
      await trainer.train(await i.train('dpo', trainer.keyMetric));
    }),
  );
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

/**
 * The group-relative baselines' keys: num_samples completions of each problem per group,
 * sampled as RLMEC's samples were, grpo_batch_size completions per step, and as many steps as
 * make the samples the others saw (one pass over the problems); β is TRL's default.
 */
function groupKeys(i: BaselineInput): Partial<GroupConfig> {
  const c = i.config;
  return {
    ...optimizerKeys(c, i.seed),
    learning_rate: c.grpo_learning_rate,
    per_device_train_batch_size: c.grpo_batch_size,
    max_steps: Math.ceil(i.samples.length / c.grpo_batch_size),
    num_generations: c.num_samples,
    temperature: c.temperature,
    top_p: c.top_p,
    max_completion_length: c.max_new_tokens,
    // As the pipeline's DPO, PPO and RLMEC: LoRA dropout off in RL.
    disable_dropout: true,
  };
}

/** The problems as a prompt-only dataset, with the columns the reward functions read. */
const problemRecords = (problems: readonly ReasoningProblem[]) => problems.map((p) => ({ prompt: promptOf(p), question: p.question, solution: p.solution, answer: p.answer }));

/** A group needs two completions of a problem to compare. */
const tooFewSamples = (i: BaselineInput): BaselineResult | undefined =>
  i.config.num_samples < 2 ? { skipped: `num_samples is ${i.config.num_samples}: a group-relative method compares at least 2 completions of a problem` } : undefined;

/** The part of GRPO's and RLOO's init every group baseline gives alike. */
type GroupInit = Pick<GRPOTrainerInit, 'policy' | 'reference' | 'tokenizer' | 'train'>;

/** A group-relative baseline: `make` builds its trainer on a new policy (and π_ref when beta > 0) over the problems. */
function trainGroup(i: BaselineInput, method: string, beta: number, make: (init: GroupInit) => GRPOTrainer | RLOOTrainer): Promise<BaselineResult> {
  const skipped = tooFewSamples(i);
  if (skipped) return Promise.resolve(skipped);
  const run = (reference?: CausalLM) =>
    trainedFromStart(i, async (policy) => {
      const trainer = make({ policy, reference, tokenizer: i.tokenizer, train: problemRecords(i.problems) });
      await trainer.train(await i.train(method, trainer.keyMetric));
    });
  return beta > 0 ? withReference(i, run) : run();
}

function trainGRPOWith(i: BaselineInput, method: string, rewardFuncs: RewardFunc[]): Promise<BaselineResult> {
  const config = grpoConfig(groupKeys(i));
  return trainGroup(i, method, config.beta, (init) => new GRPOTrainer({ ...init, config, reward_funcs: rewardFuncs }));
}

/** GRPO with the 0/1 correctness reward: sequence-level credit relative to the problem's other completions. */
export function trainGRPO(i: BaselineInput): Promise<BaselineResult> {
  return trainGRPOWith(i, 'grpo', [accuracyReward]);
}

/** GRPO whose advantage adds the seed's GRM's per-token rewards (RLMEC's) to the correctness reward's. */
export function trainGRPOWithGRM(i: BaselineInput): Promise<BaselineResult> {
  return trainGRPOWith(i, 'grpo_grm', [accuracyReward, grmTokenReward(i.grm, i.tokenizer, { batch_size: i.config.generation_batch_size })]);
}

/** RLOO with the 0/1 correctness reward and TRL's β = 0.05 KL to the start in the reward. */
export function trainRLOO(i: BaselineInput): Promise<BaselineResult> {
  const config = rlooConfig(groupKeys(i));
  return trainGroup(i, 'rloo', config.beta, (init) => new RLOOTrainer({ ...init, config, reward_funcs: accuracyReward }));
}
