// A pipeline's PPO stage (RLP's three PPO runs, RLMEC's PPO baseline): the four models from
// the start policy and a reward, TRL's PPOConfig from the pipeline's own keys, and the run.
import { ppoConfig, type PPOConfig } from '../algorithms/ppo/config.js';
import { ppoModels, type PPOModelSources } from '../algorithms/ppo/models.js';
import { PPOTrainer } from '../algorithms/ppo/trainer.js';
import type { CausalLM } from '../nn/causal_lm.js';
import type { Tokenizer } from '../text/tokenizer.js';
import type { TrainOptions } from '../training/trainer.js';

/** The keys both pipelines' configs give a PPO stage, under the pipelines' names. */
export interface PipelinePPOKeys {
  ppo_learning_rate: number;
  ppo_batch_size: number;
  max_new_tokens: number;
  generation_batch_size: number;
  logging_steps: number;
}

export interface PPOStage {
  models: PPOModelSources;
  tokenizer: Tokenizer;
  prompts: readonly string[];
  keys: PipelinePPOKeys;
  seed: number;
  /** PPOConfig keys beyond the pipeline's (episodes, schedule, a preset). */
  config: Partial<PPOConfig>;
  /** The stage's TrainOptions (its run folder, bar and step events), given its key metric. */
  train: (keyMetric: string) => Promise<TrainOptions>;
}

/** Trains the stage and returns its policy (the caller's to keep); the other models made for it are freed. */
export async function trainPPOStage(s: PPOStage): Promise<CausalLM> {
  const models = await ppoModels(s.models);
  try {
    const config = ppoConfig({
      seed: s.seed,
      learning_rate: s.keys.ppo_learning_rate,
      per_device_train_batch_size: s.keys.ppo_batch_size,
      response_length: s.keys.max_new_tokens,
      local_rollout_forward_batch_size: s.keys.generation_batch_size,
      logging_steps: s.keys.logging_steps,
      ...s.config,
    });
    const { policy, reference, value, reward } = models;
    const trainer = new PPOTrainer({ policy, reference, value, reward, tokenizer: s.tokenizer, config, train: s.prompts.map((prompt) => ({ prompt })) });
    await trainer.train(await s.train(trainer.keyMetric));
    return policy;
  } catch (e) {
    if (models.policy !== s.models.sft) models.policy.dispose();
    throw e;
  } finally {
    models.dispose();
  }
}
