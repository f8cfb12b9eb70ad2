// Learning-rate schedules with the semantics of Hugging Face's get_*_schedule_with_warmup
// (a LambdaLR): update `step` (0-based) uses lr · factor(step), so the first update of a
// warm-up runs at learning rate 0, exactly as in Transformers.
import { ConfigError } from '../errors.js';
import { SCHEDULER_TYPES, type SchedulerType, type TrainingConfig } from './config/training.js';

export interface ScheduleOptions {
  /** The peak learning rate (the config's learning_rate). */
  lr: number;
  type: SchedulerType;
  warmup_steps: number;
  total_steps: number;
}

function check(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new ConfigError(`learning-rate schedule: ${name} must be an integer ≥ ${min}, got ${v}`);
}

/** The multiplier of the peak rate at `step`. */
function factor(step: number, { type, warmup_steps: warmup, total_steps: total }: ScheduleOptions): number {
  if (step < warmup) return step / Math.max(1, warmup);
  switch (type) {
    case 'constant':
    case 'constant_with_warmup':
      return 1;
    case 'linear':
      return Math.max(0, (total - step) / Math.max(1, total - warmup));
    case 'cosine': {
      // Half a cosine period from 1 to 0; past total_steps it stays at 0 (Transformers would rise again).
      const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
  }
}

/**
 * The learning rate of update `step` (0-based): a linear warm-up from 0 over `warmup_steps`,
 * then constant, a linear decay reaching 0 at `total_steps`, or a half-cosine decay reaching
 * 0 at `total_steps` (Transformers' get_constant_schedule_with_warmup,
 * get_linear_schedule_with_warmup, get_cosine_schedule_with_warmup with 0.5 cycles).
 * Note that "constant" warms up too (Transformers' plain "constant" would ignore the warm-up).
 */
export function learningRate(step: number, options: ScheduleOptions): number {
  check('step', step, 0);
  check('warmup_steps', options.warmup_steps, 0);
  check('total_steps', options.total_steps, 1);
  if (!(Number.isFinite(options.lr) && options.lr >= 0)) throw new ConfigError(`learning-rate schedule: lr must be a number ≥ 0, got ${options.lr}`);
  if (!SCHEDULER_TYPES.includes(options.type)) {
    throw new ConfigError(`learning-rate schedule: type must be one of ${SCHEDULER_TYPES.map((t) => `"${t}"`).join(', ')}, got ${JSON.stringify(options.type)}`);
  }
  return options.lr * factor(step, options);
}

/** Warm-up steps: warmup_steps when > 0, else ceil(warmup_ratio · total steps) (Transformers' get_warmup_steps). */
export function warmupSteps(config: Pick<TrainingConfig, 'warmup_steps' | 'warmup_ratio'>, totalSteps: number): number {
  return config.warmup_steps > 0 ? config.warmup_steps : Math.ceil(totalSteps * config.warmup_ratio);
}

/**
 * Optimizer steps in the run: max_steps when > 0, else ceil(num_train_epochs · updates per
 * epoch), as Transformers' Trainer counts them. `updatesPerEpoch` is the optimizer steps one
 * pass over the data takes (batches ÷ gradient_accumulation_steps, at least 1).
 */
export function totalTrainingSteps(config: Pick<TrainingConfig, 'max_steps' | 'num_train_epochs'>, updatesPerEpoch: number): number {
  if (config.max_steps > 0) return config.max_steps;
  return Math.ceil(config.num_train_epochs * Math.max(1, updatesPerEpoch));
}

/** The schedule of a training config over `totalSteps` updates: step → learning rate. */
export function learningRateSchedule(
  config: Pick<TrainingConfig, 'learning_rate' | 'lr_scheduler_type' | 'warmup_steps' | 'warmup_ratio'>,
  totalSteps: number,
): (step: number) => number {
  const options: ScheduleOptions = { lr: config.learning_rate, type: config.lr_scheduler_type, warmup_steps: warmupSteps(config, totalSteps), total_steps: totalSteps };
  learningRate(0, options); // checks the options once, up front
  return (step) => learningRate(step, options);
}
