// Small pieces every trainer builds the same way from its config.
import { AdamW } from '../nn/adamw.js';
import type { CausalLM } from '../nn/causal_lm.js';
import type { Tokenizer } from '../text/tokenizer.js';
import type { TrainingConfig } from './config/training.js';

/** AdamW with the config's TrainingArguments names, for a model the trainer trains (gradient_checkpointing set on it as the config says). */
export function optimizerFor(model: CausalLM, c: Omit<TrainingConfig, 'model_name_or_path'>): AdamW {
  model.gradientCheckpointing = c.gradient_checkpointing;
  return new AdamW(model, { lr: c.learning_rate, beta1: c.adam_beta1, beta2: c.adam_beta2, eps: c.adam_epsilon, weight_decay: c.weight_decay, max_grad_norm: c.max_grad_norm });
}

/** The id that fills padding (masked out): PAD, else EOS, else 0. */
export function padId(t: Tokenizer): number {
  return t.padTokenId ?? t.eosTokenId ?? 0;
}

/**
 * Turns LoRA dropout off in these models' adapters: the policy-optimisation trainers (DPO,
 * PPO, RLMEC) compare log-probs of several forwards, which dropout would make disagree (TRL's
 * disable_dropout, on by default there).
 */
export function disableDropout(...models: readonly CausalLM[]): void {
  for (const m of models) if (m.adapter) m.adapter.training = false;
}
