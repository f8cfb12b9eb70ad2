// `webrlhf sft|reward|dpo|ppo|grpo|rloo --config FILE [--key value ...]`: a trainer run from a config
// file (TRL's key names) and flags, writing a run folder (config.json, metrics.jsonl,
// checkpoints, final/) with a progress bar on stderr.
import type { DPOConfig } from '../algorithms/dpo/config.js';
import { DPOTrainer } from '../algorithms/dpo/trainer.js';
import type { GRPOConfig } from '../algorithms/grpo/config.js';
import type { GroupConfig } from '../algorithms/grpo/group_config.js';
import { GRPOTrainer } from '../algorithms/grpo/trainer.js';
import type { PPOConfig } from '../algorithms/ppo/config.js';
import type { RLOOConfig } from '../algorithms/rloo/config.js';
import { RLOOTrainer } from '../algorithms/rloo/trainer.js';
import { ppoModels } from '../algorithms/ppo/models.js';
import { PPOTrainer } from '../algorithms/ppo/trainer.js';
import type { RewardConfig } from '../algorithms/reward/config.js';
import { RewardTrainer } from '../algorithms/reward/trainer.js';
import type { SFTConfig } from '../algorithms/sft/config.js';
import { SFTTrainer } from '../algorithms/sft/trainer.js';
import { TRAINER_CONFIGS, type TrainerName } from '../algorithms/trainer_configs.js';
import { describeSkipped, loadPreferenceDataset, loadPromptDataset, loadSFTDataset, type Dataset } from '../data/datasets.js';
import { ConfigError } from '../errors.js';
import { loadModel } from '../io/pretrained_model.js';
import { MODEL_DTYPES, peftConfig, trainedRole, type PeftKeys } from '../training/config/peft.js';
import type { CausalLM } from '../nn/causal_lm.js';
import { createRuntime } from '../runtime/create_runtime.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { loadTokenizer } from '../text/tokenizer_files.js';
import { describeConfig } from '../training/config/describe.js';
import { requireKeys, type ConfigSchema } from '../training/config/schema.js';
import { Progress } from '../training/progress.js';
import { openRun } from '../training/run/run_folder.js';
import type { Trainer, TrainerConfig } from '../training/trainer.js';
import { commandConfig } from './command_config.js';
import { progressStream } from './progress_stream.js';
import { rewardFuncsArg } from './reward_funcs_arg.js';

const WHAT: Record<TrainerName, string> = {
  sft: 'supervised fine-tuning on {prompt, completion} JSONL (loss on the completion)',
  reward: 'a Bradley–Terry reward model on {prompt, chosen, rejected} JSONL',
  dpo: 'DPO on {prompt, chosen, rejected} JSONL against a frozen reference',
  ppo: 'PPO on {prompt} JSONL with a reward model, a value model and a frozen reference',
  grpo: 'GRPO on {prompt, ...columns} JSONL with reward functions (group-relative advantages)',
  rloo: 'RLOO on {prompt, ...columns} JSONL with reward functions (leave-one-out baseline)',
};

/** Where each trainer's models and data come from (required keys). */
const REQUIRED: Record<TrainerName, string[]> = {
  sft: ['model_name_or_path', 'train_file'],
  reward: ['model_name_or_path', 'train_file'],
  dpo: ['model_name_or_path', 'train_file'],
  ppo: ['sft_model_path', 'reward_model_path', 'train_file'],
  grpo: ['model_name_or_path', 'train_file', 'reward_funcs'],
  rloo: ['model_name_or_path', 'train_file', 'reward_funcs'],
};

function help(name: TrainerName): string {
  return `Usage: webrlhf ${name} --config FILE [--key value ...]

Trains ${WHAT[name]}. Settings come from the defaults, then the preset (ppo), then the JSON
config file, then flags (--learning_rate 1e-5 or --learning-rate 1e-5). Writes output_dir:
config.json, metrics.jsonl${name === 'ppo' || name === 'grpo' || name === 'rloo' ? ', rollouts.jsonl' : ''}, checkpoint-NNNNNNNN/ every save_steps and final/ (a model folder
for webrlhf generate). --resume continues from the newest complete checkpoint.

Required: ${REQUIRED[name].join(', ')}.
${name === 'grpo' || name === 'rloo' ? `
reward_funcs entries (comma-separated on the command line): accuracy (the "answer" column),
format:REGEX, soft_overlong[:CACHE], repetition[:N[:PENALTY]], a module file (./rewards.mjs:
its exported functions, (prompts, completions, kwargs) => rewards; ./rewards.mjs#name: one),
or a reward model folder.
` : ''}
${describeConfig(TRAINER_CONFIGS[name] as ConfigSchema<object>)}`;
}

export function trainCommand(name: TrainerName): (argv: string[]) => Promise<number> {
  return async (argv) => {
    const config = await commandConfig(TRAINER_CONFIGS[name] as ConfigSchema<Record<string, unknown>>, argv, `webrlhf ${name}`, () => help(name));
    if (!config) return 0;
    requireKeys(config, REQUIRED[name], `webrlhf ${name}`);
    if (typeof config.resume_from_checkpoint === 'string') {
      throw new ConfigError(`resume_from_checkpoint: resuming from a given folder is not supported yet; set output_dir to the run folder and pass --resume (the newest complete checkpoint)`);
    }
    const rt = await createRuntime({ backend: config.backend as 'auto' });
    const models: Disposable[] = [];
    try {
      const trainer = await buildTrainer(name, config, rt.backend, models);
      const run = await openRun(config.output_dir as string, { config, resume: config.resume_from_checkpoint === true, saveTotalLimit: (config.save_total_limit as number | null) ?? 0 });
      for (const change of run.configChanges) console.error(`webrlhf ${name}: note: ${change.key} was ${JSON.stringify(change.saved)} in the run being resumed, now ${JSON.stringify(change.current)}`);
      const start = run.resumeFrom?.step ?? 0;
      if (run.resumeFrom) console.error(`webrlhf ${name}: resuming from ${run.resumeFrom.location} (step ${start} of ${trainer.totalSteps})`);
      const progress = new Progress({ label: name, total: trainer.totalSteps, stream: progressStream(), keyMetric: trainer.keyMetric, start });
      const result = await trainer.train({ run, progress });
      const shown = Object.entries(result.metrics).filter(([k]) => k === trainer.keyMetric || k.startsWith('eval_')).map(([k, v]) => `${k} ${v.toPrecision(4)}`);
      console.log(`${name}: ${result.step} steps on ${rt.backend.kind}${shown.length ? `; ${shown.join(', ')}` : ''}; model in ${run.location}/final`);
      return 0;
    } finally {
      for (const m of models) m.dispose();
      rt.dispose();
    }
  };
}

/** What the command frees when it ends: the models it loaded or made. */
interface Disposable {
  dispose(): void;
}

async function buildTrainer(name: TrainerName, config: Record<string, unknown>, backend: CausalLM['backend'], models: Disposable[]): Promise<Trainer<TrainerConfig>> {
  const own = <M extends Disposable>(m: M) => (models.push(m), m);
  const peft = config as unknown as PeftKeys;
  // With use_peft the loaded models are frozen bases (or their adapters): they may be 16-bit.
  const dtype = peft.use_peft ? { dtype: MODEL_DTYPES[peft.dtype] } : {};
  const load = async (path: string, heads?: { score?: boolean; value?: boolean }, base?: CausalLM) =>
    own(await loadModel(backend, path, { ...(heads ? { heads } : {}), ...(base ? { base } : {}), ...dtype }));
  // Conversations are rendered with the model's chat template when its tokenizer has one.
  type Loader<R> = (f: string, o: { skip_bad_lines: boolean; chatTemplate: Tokenizer['chatTemplate'] }) => Promise<Dataset<R>>;
  const data = async <R>(loader: Loader<R>, file: unknown, tokenizer: Tokenizer): Promise<R[]> => {
    if (typeof file !== 'string') return [];
    const ds = await loader(file, { skip_bad_lines: config.skip_bad_lines === true, chatTemplate: tokenizer.chatTemplate });
    const skipped = describeSkipped(ds as Dataset<unknown>);
    if (skipped) console.error(`webrlhf ${name}: ${skipped}`);
    return ds.records;
  };
  if (name === 'ppo') {
    const c = config as unknown as PPOConfig;
    const tokenizer = await tokenizerOf(c.sft_model_path!);
    // The policy is the model loaded from sft_model_path, trained in place; no value_model_path: a new one from the reward model.
    const sft = await load(c.sft_model_path!, {});
    // With use_peft, reward and value folders that are adapters (of the SFT base) share its weights.
    const onBase = c.use_peft ? sft : undefined;
    const rewardModel = needHead(await load(c.reward_model_path!, undefined, onBase), 'score', 'reward_model_path', 'webrlhf reward');
    const valueModel = c.value_model_path ? needHead(await load(c.value_model_path, undefined, onBase), 'value', 'value_model_path', 'a PPO run (its checkpoints\' value_model/)') : undefined;
    const lora = c.use_peft ? { lora: peftConfig(c, 'CAUSAL_LM', c.sft_model_path) } : {};
    const { policy, reference, value, reward } = own(await ppoModels({ sft, trainInPlace: true, reward: rewardModel, value: valueModel, ...lora }));
    if (c.use_peft) own(policy);
    const prompts = await data(loadPromptDataset, c.train_file, tokenizer);
    return new PPOTrainer({ policy, reference, value, reward, tokenizer, config: c, train: prompts });
  }
  const modelPath = config.model_name_or_path as string;
  const tokenizer = await tokenizerOf(modelPath);
  if (name === 'grpo' || name === 'rloo') {
    const c = config as unknown as GroupConfig;
    const start = await load(modelPath);
    const policy = own(await trainedRole(start, peft, { base: modelPath }));
    // β > 0 needs π_ref: with an adapter the base itself (the adapter off), else a frozen copy.
    const reference = c.beta > 0 && !peft.use_peft ? own(policy.clone().freeze()) : undefined;
    const rewards = await rewardFuncsArg(c.reward_funcs!, { backend, maxCompletionLength: c.max_completion_length });
    rewards.models.forEach(own);
    const init = { policy, ...(reference ? { reference } : {}), tokenizer, train: await data(loadPromptDataset, c.train_file, tokenizer), reward_funcs: rewards.funcs };
    return name === 'grpo' ? new GRPOTrainer({ ...init, config: c as GRPOConfig }) : new RLOOTrainer({ ...init, config: c as RLOOConfig });
  }
  if (name === 'sft') {
    const c = config as unknown as SFTConfig;
    const [train, evalSet] = [await data(loadSFTDataset, c.train_file, tokenizer), await data(loadSFTDataset, c.eval_file, tokenizer)];
    return new SFTTrainer({ model: own(await trainedRole(await load(modelPath), peft, { base: modelPath })), tokenizer, config: c, train, eval: evalSet });
  }
  const [train, evalSet] = [await data(loadPreferenceDataset, config.train_file, tokenizer), await data(loadPreferenceDataset, config.eval_file, tokenizer)];
  let trainer: RewardTrainer | DPOTrainer;
  if (name === 'reward') {
    const model = peft.use_peft ? own(await trainedRole(await load(modelPath), peft, { task: 'SEQ_CLS', heads: { score: true }, base: modelPath })) : await load(modelPath, { score: true });
    trainer = new RewardTrainer({ model, tokenizer, config: config as unknown as RewardConfig, train, eval: evalSet });
  } else {
    const c = config as unknown as DPOConfig;
    const start = await load(modelPath);
    const policy = own(await trainedRole(start, peft, { base: modelPath }));
    // With an adapter π_ref is the base itself, its weights shared: the policy with its adapter off.
    const reference = c.ref_model_name_or_path ? (await load(c.ref_model_name_or_path)).freeze() : peft.use_peft ? start.freeze() : own(policy.clone().freeze());
    trainer = new DPOTrainer({ policy, reference, tokenizer, config: c, train, eval: evalSet });
  }
  if (trainer.dropped.train || trainer.dropped.eval) {
    console.error(`webrlhf ${name}: left out ${trainer.dropped.train} training and ${trainer.dropped.eval} eval pairs whose chosen and rejected are the same text (drop_identical)`);
  }
  return trainer;
}

/** A model folder given for a role must have that role's head; a missing one would silently be zero. */
function needHead(model: CausalLM, head: 'score' | 'value', key: string, from: string): CausalLM {
  if (!model.heads[head]) {
    const tensor = head === 'score' ? 'score.weight' : 'v_head.summary.weight';
    throw new ConfigError(`${key}: the model folder has no ${head} head (${tensor}); give a folder written by ${from}`);
  }
  return model;
}

async function tokenizerOf(modelPath: string): Promise<Tokenizer> {
  try {
    return await loadTokenizer(modelPath);
  } catch (e) {
    throw new ConfigError(`the model folder ${modelPath} has no usable tokenizer (tokenizer.json, or vocab.json + merges.txt): ${(e as Error).message}`);
  }
}
