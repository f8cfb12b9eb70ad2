// The settings of `webrlhf rlp`: the five-step RLP pipeline (ALGORITHMS.md §4) on the
// built-in instruction task — the SFT policy, the labelled preferences D, the reward model
// r_φ, PPO, the policy's samples on unlabeled prompts, the RLP-UML and RLP-SPG reward models,
// PPO again from SFT — and the AlpacaFarm-style evaluation (win-rate against reference outputs).
import { MIB_KEYS } from '../../algorithms/rlp/uml_reward_config.js';
import { SPG_ABLATIONS, type SPGAblation } from '../../algorithms/rlp/spg_ablation.js';
import { ConfigError } from '../../errors.js';
import { DEFAULT_DEMO_FLAWS, DEFAULT_REFERENCE_FLAWS, LEAD_IN_PHRASES, TRAILING_JUNK } from '../../tasks/instruction_flaws.js';
import { checkPeftKeys, PEFT_KEYS, type PeftKeys } from '../../training/config/peft.js';
import { enumKey, integerKey, numberKey, resolveConfig, stringKey, stringListKey, type ConfigSchema } from '../../training/config/schema.js';
import { builtinPolicyKeys, type BuiltinPolicyConfig } from '../builtin_policy.js';

/** Phrases as a key's description lists them ("Answer: ", "\nHope this helps!", …). */
const phrases = (list: readonly string[]) => list.map((p) => JSON.stringify(p)).join(', ');

/** Which RLP reward models the run trains (both: the full table). */
export const RLP_METHODS = ['both', 'uml', 'spg'] as const;
export type RLPMethodChoice = (typeof RLP_METHODS)[number];

/** The pipeline's stages in order; each writes what it made under seed-N/<stage>. */
export const RLP_STAGES = [
  'sft', 'reward_base', 'preferences', 'reward', 'ppo', 'policy_samples', 'reward_uml', 'ppo_uml', 'synthetic_preferences', 'reward_spg', 'ppo_spg',
  ...SPG_ABLATIONS.flatMap((v) => [`synthetic_preferences_${v}`, `reward_spg_${v}`, `ppo_spg_${v}`] as const),
] as const;
export type RLPStage = (typeof RLP_STAGES)[number];

export interface RLPRunConfig extends BuiltinPolicyConfig, PeftKeys {
  output_dir: string;
  seed: number;
  seeds: number;
  backend: 'auto' | 'webgpu' | 'wasm';
  method: RLPMethodChoice;
  rerun: string | null;
  task_sft_prompts: number;
  task_preference_prompts: number;
  task_unlabeled_prompts: number;
  task_eval_prompts: number;
  task_reference_quality: number;
  task_demo_lead_in: number;
  task_demo_trailing_junk: number;
  task_reference_lead_in: number;
  task_reference_trailing_junk: number;
  label_noise: number;
  max_new_tokens: number;
  generation_batch_size: number;
  reward_num_train_epochs: number;
  reward_learning_rate: number;
  reward_batch_size: number;
  ppo_preset: 'trl' | 'alpacafarm';
  ppo_total_episodes: number;
  ppo_learning_rate: number;
  ppo_batch_size: number;
  ppo_kl_coef: number | null;
  best_of_n: number;
  rlp_num_samples: number;
  rlp_temperature: number;
  mib_lambda: number;
  mib_beta: number;
  mib_beta_anneal: boolean;
  mib_latent: number;
  mib_hidden: number;
  spg_gamma: number;
  spg_equivalence: 'task' | 'cosine';
  spg_cosine_tau: number;
  // The evaluation protocol, the reward model's size and SPG's ablation (docs/RLP.md).
  eval_decoding: 'sampled' | 'greedy';
  eval_samples_per_prompt: number;
  eval_bootstrap_resamples: number;
  reward_n_embd: number | null;
  reward_n_layer: number | null;
  reward_n_head: number | null;
  spg_ablation: SPGAblation[] | null;
}

export const RLP_RUN_CONFIG: ConfigSchema<RLPRunConfig> = {
  name: 'RLP run',
  keys: {
    output_dir: stringKey('runs/rlp', 'Where the run writes config.json, results.json, and per seed a folder per stage (models in <stage>/final, data as JSONL) and outputs.jsonl.'),
    seed: integerKey(42, 'Seed of every random choice (data, initialisation, sampling, label noise); seeds run seed, seed+1, …', { min: 0 }),
    seeds: integerKey(1, 'Repeat the whole pipeline with seeds seed, seed+1, …; the table gives mean ± standard error over them.', { min: 1 }),
    backend: enumKey(['auto', 'webgpu', 'wasm'] as const, 'auto', 'Where the math runs: WebGPU, WebAssembly, or auto (WebGPU when a GPU is usable).'),
    method: enumKey(RLP_METHODS, 'both', 'The RLP reward model(s) to train after PPO: uml (multi-view information bottleneck), spg (synthetic preferences), or both.'),
    rerun: stringKey(null, `Stages to run again (comma-separated: ${RLP_STAGES.join(', ')}); every other stage is loaded from output_dir, where an earlier run left it. null: run everything.`, { nullable: true }),
    logging_steps: integerKey(1, 'Write a metrics.jsonl line every this many optimizer steps, in every stage.', { min: 1 }),
    task_sft_prompts: integerKey(6000, 'Built-in task: demonstrations for the SFT policy.', { min: 1 }),
    task_preference_prompts: integerKey(4000, 'Built-in task: prompts of the labelled preference set D (two SFT samples each, labelled by the annotator with label_noise).', { min: 1 }),
    task_unlabeled_prompts: integerKey(500, 'Built-in task: unlabeled prompts the PPO policy samples on (RLP\'s views and synthetic pairs).', { min: 1 }),
    task_eval_prompts: integerKey(2000, 'Built-in task: evaluation prompts with reference outputs (win-rate).', { min: 1 }),
    task_reference_quality: numberKey(0.65, 'Built-in task: the share of reference outputs that are fully right (the rest are plausible mistakes), like AlpacaFarm\'s text-davinci-003 references.', { min: 0, max: 1 }),
    task_demo_lead_in: numberKey(DEFAULT_DEMO_FLAWS.leadIn, `Built-in task: the share of demonstrations that start with a lead-in phrase (${phrases(LEAD_IN_PHRASES)}): right, but the annotator grades it down, so SFT inherits a flaw r_φ can learn to see and PPO can remove.`, { min: 0, max: 1 }),
    task_demo_trailing_junk: numberKey(DEFAULT_DEMO_FLAWS.trailingJunk, `Built-in task: the share of demonstrations with junk after the answer (${phrases(TRAILING_JUNK)}), which the annotator penalises by its length.`, { min: 0, max: 1 }),
    task_reference_lead_in: numberKey(DEFAULT_REFERENCE_FLAWS.leadIn, 'Built-in task: the share of reference outputs, right or wrong, that start with a lead-in phrase (text-davinci-003 is wordy too).', { min: 0, max: 1 }),
    task_reference_trailing_junk: numberKey(DEFAULT_REFERENCE_FLAWS.trailingJunk, 'Built-in task: the share of reference outputs with junk after the answer.', { min: 0, max: 1 }),
    label_noise: numberKey(0.25, 'Share of D\'s labels replaced by a fair coin (AlpacaFarm\'s simulated annotator: 0.25); evaluation labels are noise-free.', { min: 0, max: 1 }),
    ...builtinPolicyKeys({ n_positions: 128, positionsWhy: 'prompt + response', sft_max_steps: 2000, data: 'the demonstrations' }),
    max_new_tokens: integerKey(32, 'Tokens per response at most (sampling, PPO rollouts, evaluation).', { min: 1 }),
    generation_batch_size: integerKey(128, 'Sequences per device batch when sampling and scoring.', { min: 1 }),
    reward_num_train_epochs: numberKey(1, 'Passes of each reward model over its preference pairs.', { min: 0, minExclusive: true }),
    reward_learning_rate: numberKey(3e-3, 'Learning rate of the reward models (r_φ and the RLP ones).', { min: 0 }),
    reward_batch_size: integerKey(32, 'Preference pairs per reward-model step (and view pairs per step for RLP-UML).', { min: 1 }),
    ppo_preset: enumKey(['trl', 'alpacafarm'] as const, 'alpacafarm', 'PPO defaults (ALGORITHMS.md §3): alpacafarm is what RLP used.'),
    ppo_total_episodes: integerKey(1024, 'Responses each PPO run trains on in all.', { min: 1 }),
    ppo_learning_rate: numberKey(1e-4, 'Learning rate of PPO (policy and value model).', { min: 0 }),
    ppo_batch_size: integerKey(32, 'Rollouts per PPO step.', { min: 1 }),
    ppo_kl_coef: numberKey(0.05, 'β of the KL penalty; null: the preset\'s (alpacafarm: 0.0067, which let PPO drift far from SFT on these reward models).', { min: 0, nullable: true }),
    best_of_n: integerKey(8, 'Best-of-n baseline: SFT samples per evaluation prompt at rlp_temperature, the one r_φ scores highest is evaluated.', { min: 1 }),
    rlp_num_samples: integerKey(10, 'Samples per unlabeled prompt from the PPO policy (the spec: n = 10).', { min: 2 }),
    rlp_temperature: numberKey(1, 'Temperature of those samples (the spec: 1.0).', { min: 0, minExclusive: true }),
    ...MIB_KEYS,
    spg_gamma: numberKey(0.5, 'γ: keep an unlabeled prompt iff its largest cluster holds at least this share of the samples (the spec: 0.5).', { min: 0, max: 1 }),
    spg_equivalence: enumKey(['task', 'cosine'] as const, 'task', "How samples cluster: the task's own answer equivalence, or cosine ≥ spg_cosine_tau of the reward model's normalised embeddings."),
    spg_cosine_tau: numberKey(0.9, 'τ of the cosine equivalence.', { min: -1, max: 1 }),
    // The evaluation protocol, the reward model's size and SPG's ablation (docs/RLP.md).
    eval_decoding: enumKey(['sampled', 'greedy'] as const, 'sampled', 'How every policy answers the evaluation prompts (AlpacaFarm: sampled): eval_samples_per_prompt samples at rlp_temperature, or one greedy answer.'),
    eval_samples_per_prompt: integerKey(2, 'Sampled evaluation: answers per prompt of each policy (best-of-n makes one pick of best_of_n samples); a prompt\'s score is their mean value (win 1, draw ½, loss 0).', { min: 1 }),
    eval_bootstrap_resamples: integerKey(1000, 'Resamples of the paired per-prompt bootstrap behind the paired-difference table\'s 95% intervals.', { min: 1 }),
    reward_n_embd: integerKey(null, 'Reward models\' width; null: the policy\'s (each reward model then starts from SFT). Any reward_n_* set trains a language model of that size on the demonstrations first (stage reward_base), and the reward models start from it.', { min: 1, nullable: true }),
    reward_n_layer: integerKey(null, 'Reward models\' layers; null: the policy\'s.', { min: 1, nullable: true }),
    reward_n_head: integerKey(null, 'Reward models\' attention heads (must divide their width); null: the policy\'s.', { min: 1, nullable: true }),
    spg_ablation: stringListKey([...SPG_ABLATIONS], `The SPG ablation's rows besides RLP-SPG (each a reward model on D ∪ its pairs, then PPO from SFT): ${SPG_ABLATIONS.join(', ')}; [] or null: none. Only with method spg or both.`, { nullable: true }),
    // With use_peft every model trained after SFT is an adapter on the frozen SFT policy (docs/RLP.md).
    ...PEFT_KEYS,
  },
  check(config, source) {
    checkPeftKeys(config, source);
    if (config.n_embd % config.n_head !== 0) throw new ConfigError(`${source}: n_head (${config.n_head}) must divide n_embd (${config.n_embd})`);
    if (config.max_new_tokens >= config.n_positions) throw new ConfigError(`${source}: max_new_tokens (${config.max_new_tokens}) leaves no room for a prompt in n_positions (${config.n_positions}); lower max_new_tokens`);
    rerunStages(config, source);
    checkRewardSize(config, source);
    spgAblations(config, source);
  },
};

/** The stages `rerun` names (all of them when it is null); a ConfigError names an unknown one. */
export function rerunStages(config: Pick<RLPRunConfig, 'rerun'>, source = 'RLP run'): Set<RLPStage> {
  if (config.rerun === null) return new Set(RLP_STAGES);
  const names = config.rerun.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(RLP_STAGES as readonly string[]).includes(n));
  if (unknown.length || !names.length) {
    throw new ConfigError(`${source}: rerun ${JSON.stringify(config.rerun)} names ${unknown.length ? `unknown stage(s) ${unknown.join(', ')}` : 'no stage'}; the stages are ${RLP_STAGES.join(', ')}`);
  }
  return new Set(names as RLPStage[]);
}

/** The reward models' size when it differs from the policy's (their own base: stage reward_base), else null (they start from SFT). */
export function rewardModelSize(c: Pick<RLPRunConfig, 'n_embd' | 'n_layer' | 'n_head' | 'reward_n_embd' | 'reward_n_layer' | 'reward_n_head'>): { n_embd: number; n_layer: number; n_head: number } | null {
  const size = { n_embd: c.reward_n_embd ?? c.n_embd, n_layer: c.reward_n_layer ?? c.n_layer, n_head: c.reward_n_head ?? c.n_head };
  return size.n_embd === c.n_embd && size.n_layer === c.n_layer && size.n_head === c.n_head ? null : size;
}

function checkRewardSize(c: RLPRunConfig, source: string): void {
  const size = rewardModelSize(c);
  if (!size) return;
  if (size.n_embd % size.n_head !== 0) throw new ConfigError(`${source}: the reward models' n_head (${size.n_head}) must divide their n_embd (${size.n_embd}); set reward_n_head or reward_n_embd`);
  if (c.use_peft) throw new ConfigError(`${source}: use_peft keeps one set of weights (every model an adapter on SFT), so the reward models cannot have their own size; leave reward_n_embd, reward_n_layer and reward_n_head null, or use_peft false`);
}

/** The SPG ablation rows the run trains (none with method uml); a ConfigError names an unknown one. */
export function spgAblations(c: Pick<RLPRunConfig, 'spg_ablation' | 'method'>, source = 'RLP run'): SPGAblation[] {
  const names = c.spg_ablation ?? [];
  const unknown = names.filter((n) => !(SPG_ABLATIONS as readonly string[]).includes(n));
  if (unknown.length) throw new ConfigError(`${source}: spg_ablation names unknown row(s) ${unknown.join(', ')}; the rows are ${SPG_ABLATIONS.join(', ')}`);
  return c.method === 'uml' ? [] : SPG_ABLATIONS.filter((v) => names.includes(v));
}

/** The full run config from options (unset keys take their defaults); throws ConfigError naming a bad key. */
export function rlpRunConfig(options: Partial<RLPRunConfig> = {}): RLPRunConfig {
  return resolveConfig(RLP_RUN_CONFIG, options, 'RLP run options');
}
