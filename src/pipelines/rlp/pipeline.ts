// `webrlhf rlp` as a library call: for each seed, the five-step RLP pipeline (ALGORITHMS.md
// §4) — D labelled on the SFT policy's samples, r_φ on D, PPO from SFT, n samples per
// unlabeled prompt from the PPO policy, the RLP-UML and/or RLP-SPG reward model, PPO again
// from SFT — then every policy's win-rate against the reference outputs (AlpacaFarm's
// protocol), best-of-n on r_φ included, and each reward model's preference accuracy against
// the gold annotator. Each stage writes what it made in the seed's folder, so `rerun` can run
// one stage again with the others loaded from there.
import { rewardConfig } from '../../algorithms/reward/config.js';
import { RewardTrainer } from '../../algorithms/reward/trainer.js';
import type { Equivalence } from '../../algorithms/rlp/clustering.js';
import { cosineEquivalence } from '../../algorithms/rlp/cosine_equivalence.js';
import { rewardEmbeddings } from '../../algorithms/rlp/reward_embeddings.js';
import { meanLogprob, rankedPreferences, SPG_ABLATIONS, type SPGAblation } from '../../algorithms/rlp/spg_ablation.js';
import { mergePreferences, synthesizePreferences, type SampleGroup } from '../../algorithms/rlp/synthetic_preferences.js';
import { umlRewardConfig } from '../../algorithms/rlp/uml_reward_config.js';
import { UMLRewardTrainer, type ViewPair } from '../../algorithms/rlp/uml_reward_trainer.js';
import type { Backend } from '../../backend/backend.js';
import { auditPreferences } from '../../data/datasets.js';
import type { PreferenceRecord } from '../../data/records.js';
import { ConfigError } from '../../errors.js';
import { pairedBootstrap, type PairedDifference } from '../../eval/paired_bootstrap.js';
import { evaluateWinRate, promptWinRate, type PreferenceCode, type WinRateResult } from '../../eval/win_rate.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import { generate, type GeneratedSequence } from '../../text/generate.js';
import { rewardScores } from '../../text/score.js';
import type { Tokenizer } from '../../text/tokenizer.js';
import { MODEL_DTYPES, peftConfig, pipelineBase, trainedCopy } from '../../training/config/peft.js';
import { padId } from '../../training/trainer_parts.js';
import { trainPPOStage } from '../ppo_stage.js';
import { formatRows, formatTable, oneDecimal, percent, summarise, tableRows, type MethodSummary, type RowKey } from '../comparison_table.js';
import { SeedStages, runSeeds, type SeedHooks, type SeedLoopResult, type SeedRun } from '../seed_loop.js';
import { writeJsonl, type ExperimentHooks } from '../stage.js';
import { StageCache } from '../stage_cache.js';
import { rerunStages, rewardModelSize, spgAblations, type RLPRunConfig, type RLPStage } from './run_config.js';
import type { RLPSeedData, RLPSource } from './source.js';

/** Pairs of PPO samples per evaluation prompt that the reward models' preference accuracy is measured on: on 2,000 prompts one gives about 1,300 gold-ranked pairs (the rest are gold draws or identical), a standard error near 1.3 points. */
const ACCURACY_PAIRS_PER_PROMPT = 1;

/** The win-rate table's rows, in order. */
export const RLP_POLICIES = tableRows({ sft: 'SFT', best_of_n: 'best-of-n (r_φ)', ppo: 'PPO', rlp_uml: 'RLP-UML', rlp_spg: 'RLP-SPG' });
/** A policy evaluated: a row of the win-rate table, or an SPG ablation row's PPO policy. */
export type RLPPolicyKey = RowKey<typeof RLP_POLICIES> | `rlp_spg_${SPGAblation}`;

/** The preference-accuracy table's rows: the reward model each PPO run used. */
export const RLP_REWARD_MODELS = tableRows({ reward: 'r_φ (D)', reward_uml: 'RLP-UML (D + λ·L_M)', reward_spg: 'RLP-SPG (D ∪ D̂)' });
export type RLPRewardKey = RowKey<typeof RLP_REWARD_MODELS> | `reward_spg_${SPGAblation}`;

/** The SPG ablation table's rows (the paper's four): each ablation's pairs, then RLP-SPG's. */
export const SPG_ABLATION_ROWS = tableRows<SPGAblation | 'spg'>({ policy_labelled: 'policy-labelled pairs', reward_ranked: 'pairs ranked by r_φ', gamma_0: 'γ = 0', spg: 'RLP-SPG' });

/** An SPG ablation row's label. */
const ablationLabel = (v: SPGAblation) => SPG_ABLATION_ROWS.find((r) => r.key === v)!.label;

/** The paired-difference table's rows: the policy of `a` minus the policy of `b`, per prompt. */
export const RLP_PAIRED_DIFFERENCES: readonly { key: string; label: string; a: RLPPolicyKey; b: RLPPolicyKey }[] = [
  { key: 'ppo-sft', label: 'PPO − SFT', a: 'ppo', b: 'sft' },
  { key: 'best_of_n-sft', label: 'best-of-n − SFT', a: 'best_of_n', b: 'sft' },
  { key: 'rlp_uml-ppo', label: 'RLP-UML − PPO', a: 'rlp_uml', b: 'ppo' },
  { key: 'rlp_spg-ppo', label: 'RLP-SPG − PPO', a: 'rlp_spg', b: 'ppo' },
  ...SPG_ABLATIONS.map((v) => ({ key: `rlp_spg-rlp_spg_${v}`, label: `RLP-SPG − ${ablationLabel(v)}`, a: 'rlp_spg' as const, b: `rlp_spg_${v}` as const })),
];

export interface RLPSeedResult extends SeedRun {
  /** Win-rate (%) against the references, with its standard error over the prompts. */
  winRate: Partial<Record<RLPPolicyKey, WinRateResult>>;
  /** Each reward model's accuracy against the gold annotator on pairs sampled from the PPO policy. */
  preferenceAccuracy: Partial<Record<RLPRewardKey, number>>;
  /** Per RLP_PAIRED_DIFFERENCES key: the mean per-prompt difference in win-rate points and its paired bootstrap 95% interval. */
  pairedDifferences: Record<string, PairedDifference>;
  /** Counts of each data stage (labelling, audit, SPG's kept and dropped prompts). */
  counts: Record<string, Record<string, number>>;
}

export interface RLPTables {
  /** Win-rate (%), mean ± s.e. over the seeds. */
  table: MethodSummary[];
  /** Preference accuracy against the gold annotator, mean ± s.e. over the seeds. */
  preferenceTable: MethodSummary[];
  /** Paired differences (win-rate points): per seed the mean per-prompt difference, mean ± s.e. over the seeds. */
  pairedTable: MethodSummary[];
  /** The SPG ablation: each row's preference accuracy and win-rate, mean ± s.e. over the seeds. */
  ablationTable: { method: string; preferenceAccuracy: MethodSummary; winRate: MethodSummary }[];
  /** Every table as text. */
  text: string;
}

/** results.json: the backend, the data, each seed's result, the tables, the seconds. */
export type RLPExperimentResult = SeedLoopResult<RLPSeedResult, RLPTables>;

export async function runRLPExperiment(backend: Backend, config: RLPRunConfig, source: RLPSource, hooks: ExperimentHooks = {}): Promise<RLPExperimentResult> {
  const rerun = rerunStages(config);
  if (config.rerun !== null && hooks.output === undefined) throw new ConfigError('RLP: rerun loads the other stages from the run folder; give an output folder');
  return runSeeds(backend, source, hooks, {
    config,
    // A rerun continues the run in its folder.
    rerun: config.rerun !== null,
    runSeed: (seed, seedHooks) => new SeedPipeline(backend, config, source, seed, rerun, seedHooks).run(),
    tables: (results, seeds) => rlpTables(config, results, seeds),
  });
}

/** Win-rates, preference accuracies, paired differences and the SPG ablation, mean ± s.e. over the seeds, of the rows the run includes. */
function rlpTables(config: RLPRunConfig, results: RLPSeedResult[], seeds: number[]): RLPTables {
  const policies = RLP_POLICIES.filter((p) => included(config, p.key));
  const rewardModels = RLP_REWARD_MODELS.filter((r) => included(config, r.key));
  const winRates = (key: RLPPolicyKey) => results.map((r) => r.winRate[key]?.win_rate ?? NaN);
  const accuracies = (key: RLPRewardKey) => results.map((r) => r.preferenceAccuracy[key] ?? NaN);
  const table = policies.map((p) => summarise(p.label, winRates(p.key)));
  const preferenceTable = rewardModels.map((m) => summarise(m.label, accuracies(m.key)));
  const paired = RLP_PAIRED_DIFFERENCES.filter((d) => results.some((r) => r.pairedDifferences[d.key]));
  const pairedTable = paired.map((d) => summarise(d.label, results.map((r) => r.pairedDifferences[d.key]?.mean ?? NaN)));
  const ablations = spgAblations(config);
  const ablationTable = ablations.length
    ? SPG_ABLATION_ROWS.filter((row) => row.key === 'spg' || ablations.includes(row.key as SPGAblation)).map((row) => {
      const suffix = row.key === 'spg' ? '' : `_${row.key}`;
      return {
        method: row.label,
        preferenceAccuracy: summarise(row.label, accuracies(`reward_spg${suffix}` as RLPRewardKey)),
        winRate: summarise(row.label, winRates(`rlp_spg${suffix}` as RLPPolicyKey)),
      };
    })
    : [];
  const text = [
    formatTable(table, seeds, { metric: `win-rate vs reference, % (${decodingNote(config)})`, format: oneDecimal }),
    '',
    formatTable(preferenceTable, seeds, { metric: 'preference accuracy vs gold' }),
    '',
    pairedText(paired, results, seeds),
    ...(ablationTable.length ? ['', ablationText(ablationTable, seeds.length)] : []),
  ].join('\n');
  return { table, preferenceTable, pairedTable, ablationTable, text };
}

/** How the policies answered the evaluation prompts, for the table's header. */
function decodingNote(c: RLPRunConfig): string {
  return c.eval_decoding === 'greedy' ? 'greedy' : `${c.eval_samples_per_prompt} sample(s) per prompt at T = ${c.rlp_temperature}`;
}

/** A difference in win-rate points with its sign. */
const signed = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(1)}` : '—');

/** The paired-difference table: mean ± s.e. over the seeds (one seed: its mean), then each seed's mean [95% bootstrap interval]. */
function pairedText(rows: typeof RLP_PAIRED_DIFFERENCES, results: RLPSeedResult[], seeds: number[]): string {
  const head = ['paired difference, win-rate points', ...(seeds.length > 1 ? ['mean ± s.e. over seeds'] : []), ...seeds.map((s) => `seed ${s}: mean [95% CI]`)];
  const body = rows.map((d) => {
    const perSeed = results.map((r) => r.pairedDifferences[d.key]);
    const s = summarise(d.label, perSeed.map((p) => p?.mean ?? NaN));
    return [d.label, ...(seeds.length > 1 ? [`${signed(s.mean)} ± ${oneDecimal(s.stderr)}`] : []), ...perSeed.map((p) => (p ? `${signed(p.mean)} [${signed(p.low)}, ${signed(p.high)}]` : '—'))];
  });
  return formatRows(head, body);
}

/** The SPG ablation: preference accuracy and win-rate of each row (mean ± s.e. over the seeds). */
function ablationText(rows: RLPTables['ablationTable'], seeds: number): string {
  const cell = (m: MethodSummary, fmt: (x: number) => string) => (seeds > 1 ? `${fmt(m.mean)} ± ${fmt(m.stderr)}` : fmt(m.mean));
  return formatRows(
    ['SPG ablation', 'preference accuracy vs gold', 'win-rate vs reference, %'],
    rows.map((r) => [r.method, cell(r.preferenceAccuracy, percent), cell(r.winRate, oneDecimal)]),
  );
}

/** Whether the run's method choice includes a row. */
function included(c: RLPRunConfig, key: RLPPolicyKey | RLPRewardKey): boolean {
  if (key.endsWith('_uml')) return c.method !== 'spg';
  if (key.endsWith('_spg')) return c.method !== 'uml';
  return true;
}

/** A policy's samples on one prompt, with r_φ's score of each and the policy's mean log-probability per token of each (policy_samples.jsonl). */
interface ScoredSamples extends SampleGroup {
  logprobs?: readonly number[];
}

/** Where the reward models start (see #rewardBase). */
interface RewardBase {
  model: CausalLM;
  stage: 'sft' | 'reward_base';
}

/** One seed's pipeline: each stage trained (or, when not rerun, loaded from the seed's folder). */
class SeedPipeline extends SeedStages<RLPSeedResult> {
  readonly #result: RLPSeedResult;
  readonly #data: RLPSeedData;
  readonly #tokenizer: Tokenizer;
  readonly #cache: StageCache;

  constructor(
    readonly backend: Backend,
    readonly c: RLPRunConfig,
    readonly source: RLPSource,
    seed: number,
    rerun: ReadonlySet<RLPStage>,
    hooks: SeedHooks,
  ) {
    super(seed, hooks, c);
    this.#result = { seed, winRate: {}, preferenceAccuracy: {}, pairedDifferences: {}, counts: {}, seconds: 0 };
    this.#data = source.data(seed);
    this.#tokenizer = source.tokenizer;
    const load = c.use_peft ? { dtype: MODEL_DTYPES[c.dtype] } : {};
    this.#cache = new StageCache({ pipeline: 'RLP', backend, storage: hooks.storage, rerun, continuing: c.rerun !== null, log: (line) => this.log(line), load });
    if (!this.#data.eval.length) throw new ConfigError('RLP: there are no evaluation prompts to measure win-rates on');
    if (this.#data.unlabeled.length < 2) throw new ConfigError('RLP: RLP needs two unlabeled prompts at least (PPO rollouts, the views and the synthetic pairs come from them)');
  }

  protected async stages(): Promise<RLPSeedResult> {
    const c = this.c;
    // Trained stages only ever run forward from here on (PPO clones the policy it trains), so
    // each is frozen and serves as PPO's reference or reward model without a copy. With
    // use_peft every later stage is an adapter on SFT's weights: one set of weights in all.
    const sft = (await this.#model('sft', async () => pipelineBase(await this.source.startPolicy(this.seed, () => this.stage('sft', 'loss')), c))).freeze();
    const rewardBase = await this.#rewardBase(sft);
    const D = await this.#records('preferences', () => this.#labelPreferences(sft));
    const reward = (await this.#model('reward', () => this.#trainReward('reward', rewardBase, D), rewardBase.model)).freeze();
    const ppo = await this.#model('ppo', () => this.#trainPPO('ppo', sft, reward), sft);
    const samples = await this.#rows<ScoredSamples>('policy_samples', () => this.#policySamples(ppo, reward));
    const policies: [RLPPolicyKey, CausalLM][] = [['sft', sft], ['ppo', ppo]];
    const rewardModels: [RLPRewardKey, CausalLM][] = [['reward', reward]];
    if (c.method !== 'spg') {
      const rm = (await this.#model('reward_uml', () => this.#trainUML(rewardBase, D, samples), rewardBase.model)).freeze();
      rewardModels.push(['reward_uml', rm]);
      policies.push(['rlp_uml', await this.#model('ppo_uml', () => this.#trainPPO('ppo_uml', sft, rm), sft)]);
    }
    if (c.method !== 'uml') {
      // RLP-SPG, then the ablation's rows: the same reward-model and PPO stages on other pairs.
      const variants: [pairs: () => Promise<PreferenceRecord[]>, suffix: '' | `_${SPGAblation}`][] = [
        [() => this.#synthesize(reward, samples, c.spg_gamma), ''],
        ...spgAblations(c).map((v) => [() => this.#ablationPairs(v, reward, samples), `_${v}`] as [() => Promise<PreferenceRecord[]>, `_${SPGAblation}`]),
      ];
      for (const [pairs, suffix] of variants) {
        const Dhat = await this.#records(`synthetic_preferences${suffix}`, pairs);
        const stage = `reward_spg${suffix}` as const;
        const rm = (await this.#model(stage, () => this.#trainReward(stage, rewardBase, mergePreferences(D, Dhat).records), rewardBase.model)).freeze();
        rewardModels.push([stage, rm]);
        policies.push([`rlp_spg${suffix}`, await this.#model(`ppo_spg${suffix}`, () => this.#trainPPO(`ppo_spg${suffix}`, sft, rm), sft)]);
      }
    }
    const scores = await this.#evaluate(policies, () => this.#bestOfN(sft, reward));
    this.#pairedDifferences(scores);
    await this.#preferenceAccuracy(ppo, rewardModels);
    return this.#result;
  }

  /**
   * Where the reward models start: SFT, or with reward_n_* a language model of that size
   * trained on the demonstrations like SFT (stage reward_base), so that a reward model larger
   * than the policy still starts from a model of the task (AlpacaFarm's start from SFT).
   */
  async #rewardBase(sft: CausalLM): Promise<RewardBase> {
    const size = rewardModelSize(this.c);
    if (!size) return { model: sft, stage: 'sft' };
    const train = this.source.rewardBase;
    if (!train) throw new ConfigError(`RLP: the source ${this.source.name} cannot train a reward base of another size; leave reward_n_embd, reward_n_layer and reward_n_head null`);
    const model = await this.#model('reward_base', () => train.call(this.source, this.seed, size, () => this.stage('reward_base', 'loss')));
    this.log(`reward_base: ${size.n_embd} wide, ${size.n_layer} layer(s), ${size.n_head} head(s) (the policy: ${this.c.n_embd}, ${this.c.n_layer}, ${this.c.n_head})`);
    return { model: model.freeze(), stage: 'reward_base' };
  }

  /** A trained stage's model (trained now, or loaded when the stage is not rerun; an adapter onto `base`, the model it started from); the seed owns it. */
  async #model(stage: RLPStage, train: () => Promise<CausalLM>, base?: CausalLM): Promise<CausalLM> {
    return this.own(await this.#cache.model(stage, train, base));
  }

  /** A reward model's start: a copy of its base (SFT or reward_base) with a zero score head, or with use_peft a SEQ_CLS adapter on SFT whose score head trains in full. */
  #rewardModel(base: RewardBase): Promise<CausalLM> {
    return trainedCopy(base.model, this.c, { task: 'SEQ_CLS', heads: { score: true }, base: this.finalPath(base.stage) });
  }

  /** A data stage's rows (made now, or read when the stage is not rerun). */
  #rows<T>(stage: RLPStage, make: () => Promise<T[]>): Promise<T[]> {
    return this.#cache.rows(stage, make);
  }

  /** Preference pairs as a data stage; the loaded ones are audited like fresh ones. */
  async #records(stage: 'preferences' | `synthetic_preferences${'' | `_${SPGAblation}`}`, make: () => Promise<PreferenceRecord[]>): Promise<PreferenceRecord[]> {
    const rows = await this.#rows<unknown>(stage, make);
    const audit = auditPreferences(rows, `${stage}.jsonl`);
    const counts = (this.#result.counts[stage] ??= {});
    Object.assign(counts, { pairs: audit.records.length, identical_left_out: audit.identical, missing_field_left_out: audit.missingField.length });
    if (audit.identical || audit.missingField.length) {
      this.log(`${stage}: left out ${audit.identical} pair(s) whose chosen equals rejected and ${audit.missingField.length} with a missing field${audit.missingField.length ? ` (first: ${audit.missingField[0]!.message})` : ''}`);
    }
    return audit.records;
  }

  /** Samples `n` responses per prompt (grouped by prompt, in order). */
  async #sample(model: CausalLM, prompts: readonly string[], n: number, temperature: number, seed: number): Promise<GeneratedSequence[][]> {
    const out = await generate(model, [...prompts], {
      tokenizer: this.#tokenizer, do_sample: true, temperature, top_p: 1, num_return_sequences: n,
      max_new_tokens: this.c.max_new_tokens, seed, batch_size: this.c.generation_batch_size,
    });
    const groups: GeneratedSequence[][] = prompts.map(() => []);
    for (const g of out) groups[g.prompt]!.push(g);
    return groups;
  }

  /** Each response's r_φ score. */
  async #scores(rm: CausalLM, sequences: readonly GeneratedSequence[]): Promise<number[]> {
    return rewardScores(rm, sequences.map((g) => ({ prompt: g.promptIds, response: g.ids.length ? g.ids : [this.#stopId()] })), {
      batch_size: this.c.generation_batch_size, pad_token_id: padId(this.#tokenizer),
    });
  }

  #stopId(): number {
    return this.#tokenizer.eosTokenId ?? 0;
  }

  /** D: two SFT samples per preference prompt, labelled by the source (the annotator with label noise). */
  async #labelPreferences(sft: CausalLM): Promise<PreferenceRecord[]> {
    const prompts = this.#data.preference;
    const groups = await this.#sample(sft, prompts, 2, this.c.rlp_temperature, this.seed);
    const labelled = this.source.label(this.seed, prompts, groups.map((g) => g[0]!.text), groups.map((g) => g[1]!.text));
    this.#result.counts.labelling = labelled.counts;
    this.log(`preferences: ${Object.entries(labelled.counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    return labelled.records;
  }

  #rewardSettings(seed: number) {
    const c = this.c;
    return {
      seed,
      learning_rate: c.reward_learning_rate,
      num_train_epochs: c.reward_num_train_epochs,
      per_device_train_batch_size: c.reward_batch_size,
      per_device_eval_batch_size: c.generation_batch_size,
      lr_scheduler_type: 'cosine' as const,
      warmup_ratio: 0.05,
      max_length: c.n_positions,
      save_steps: 1_000_000,
      logging_steps: c.logging_steps,
    };
  }

  /** A Bradley–Terry reward model from SFT (a new zero score head) on `records`. */
  async #trainReward(stage: 'reward' | `reward_spg${'' | `_${SPGAblation}`}`, base: RewardBase, records: readonly PreferenceRecord[]): Promise<CausalLM> {
    if (!records.length) throw new ConfigError(`RLP: no preference pairs to train ${stage} on`);
    const rm = await this.#rewardModel(base);
    try {
      const trainer = new RewardTrainer({ model: rm, tokenizer: this.#tokenizer, config: rewardConfig(this.#rewardSettings(this.seed)), train: records });
      await trainer.train(await this.stage(stage, trainer.keyMetric));
      return rm;
    } catch (e) {
      rm.dispose();
      throw e;
    }
  }

  /** RLP-UML: D's Bradley–Terry loss plus λ·L_M on view pairs of the PPO policy's samples. */
  async #trainUML(base: RewardBase, D: readonly PreferenceRecord[], samples: readonly ScoredSamples[]): Promise<CausalLM> {
    const c = this.c;
    const views: ViewPair[] = samples.flatMap((s) => {
      const pairs: ViewPair[] = [];
      for (let i = 0; i + 1 < s.outputs.length; i += 2) pairs.push({ prompt: s.prompt, first: s.outputs[i]!, second: s.outputs[i + 1]! });
      return pairs;
    });
    const rm = await this.#rewardModel(base);
    const config = umlRewardConfig({ ...this.#rewardSettings(this.seed), mib_lambda: c.mib_lambda, mib_beta: c.mib_beta, mib_beta_anneal: c.mib_beta_anneal, mib_latent: c.mib_latent, mib_hidden: c.mib_hidden });
    let trainer: UMLRewardTrainer | undefined;
    try {
      trainer = new UMLRewardTrainer({ model: rm, tokenizer: this.#tokenizer, config, train: D, views });
      this.#result.counts.reward_uml = { pairs: D.length, view_pairs: views.length };
      await trainer.train(await this.stage('reward_uml', trainer.keyMetric));
      return rm;
    } catch (e) {
      rm.dispose();
      throw e;
    } finally {
      trainer?.dispose();
    }
  }

  /** PPO from the (frozen) SFT policy, its reference, with a frozen reward model; the value model starts from it. */
  async #trainPPO(stage: 'ppo' | 'ppo_uml' | `ppo_spg${'' | `_${SPGAblation}`}`, sft: CausalLM, rm: CausalLM): Promise<CausalLM> {
    const c = this.c;
    return trainPPOStage({
      // With use_peft the policy is an adapter on SFT and the value model a copy of the reward adapter with a value head.
      models: { sft, reward: rm, ...(c.use_peft ? { lora: peftConfig(c, 'CAUSAL_LM', this.finalPath('sft')) } : {}) },
      tokenizer: this.#tokenizer,
      prompts: this.#data.unlabeled,
      keys: c,
      seed: this.seed,
      config: { preset: c.ppo_preset, total_episodes: c.ppo_total_episodes, save_steps: 1_000_000, ...(c.ppo_kl_coef === null ? {} : { kl_coef: c.ppo_kl_coef }) },
      train: (keyMetric) => this.stage(stage, keyMetric),
    });
  }


  /** n samples per unlabeled prompt from the PPO policy (temperature rlp_temperature), each scored by r_φ, with its mean log-probability per token. */
  async #policySamples(ppo: CausalLM, reward: CausalLM): Promise<ScoredSamples[]> {
    const groups = await this.#sample(ppo, this.#data.unlabeled, this.c.rlp_num_samples, this.c.rlp_temperature, this.seed + 1);
    const scores = await this.#scores(reward, groups.flat());
    let k = 0;
    const rows = groups.map((g, i) => ({
      prompt: this.#data.unlabeled[i]!, outputs: g.map((s) => s.text), scores: g.map(() => scores[k++]!), logprobs: g.map((s) => meanLogprob(s.logprobs)),
    }));
    this.log(`policy_samples: ${rows.length} prompts × ${this.c.rlp_num_samples} samples`);
    return rows;
  }

  /** D̂: RLP-SPG's synthetic pairs from the policy's clustered samples, prompts kept at confidence ≥ gamma. */
  async #synthesize(reward: CausalLM, samples: readonly ScoredSamples[], gamma: number, count: 'spg' | 'spg_gamma_0' = 'spg'): Promise<PreferenceRecord[]> {
    const equivalent = await this.#equivalence(reward, samples);
    const out = synthesizePreferences(samples, equivalent, { gamma, seed: this.seed });
    const mean = out.confidences.reduce((a, b) => a + b, 0) / Math.max(out.confidences.length, 1);
    this.#result.counts[count] = { prompts: samples.length, kept: out.kept, low_confidence: out.lowConfidence, single_cluster: out.singleCluster, mean_confidence: mean };
    this.log(`${count}: kept ${out.kept} of ${samples.length} prompts (γ ${gamma}; low confidence ${out.lowConfidence}, one cluster ${out.singleCluster}; mean confidence ${mean.toFixed(2)})`);
    return out.records;
  }

  /**
   * An SPG ablation row's pairs: γ = 0 is SPG without its confidence filter; the others rank a
   * prompt's samples, unclustered, by the policy's mean log-probability per token (its own
   * label; per token, so that length alone does not decide) or by r_φ's score: highest over lowest.
   */
  async #ablationPairs(variant: SPGAblation, reward: CausalLM, samples: readonly ScoredSamples[]): Promise<PreferenceRecord[]> {
    if (variant === 'gamma_0') return this.#synthesize(reward, samples, 0, 'spg_gamma_0');
    const values = (s: ScoredSamples) => {
      if (variant === 'reward_ranked') return s.scores;
      if (!s.logprobs) throw new ConfigError('RLP: policy_samples.jsonl has no logprobs (an older run wrote it); add policy_samples to rerun for the policy_labelled ablation');
      return s.logprobs;
    };
    const out = rankedPreferences(samples.map((s) => ({ prompt: s.prompt, outputs: s.outputs, values: values(s) })));
    this.#result.counts[`spg_${variant}`] = { prompts: samples.length, kept: out.kept, dropped: out.dropped };
    this.log(`spg_${variant}: ${out.kept} pairs of ${samples.length} prompts (${out.dropped} whose samples rank equal)`);
    return out.records;
  }

  /** The clustering's equivalence: the task's own, or cosine ≥ τ of r_φ's normalised last hidden states. */
  async #equivalence(reward: CausalLM, samples: readonly ScoredSamples[]): Promise<Equivalence> {
    if (this.c.spg_equivalence === 'task') {
      if (!this.source.equivalence) throw new ConfigError('RLP: spg_equivalence "task" needs a task with an answer equivalence; use spg_equivalence cosine for your own data');
      return this.source.equivalence;
    }
    const pairs = samples.flatMap((s) => s.outputs.map((output) => ({ prompt: s.prompt, output })));
    const embeddings = await rewardEmbeddings(reward, this.#tokenizer, pairs, { batch_size: this.c.generation_batch_size });
    const byPrompt = new Map<string, Map<string, Float32Array>>();
    pairs.forEach((p, i) => {
      const m = byPrompt.get(p.prompt) ?? new Map<string, Float32Array>();
      m.set(p.output, embeddings[i]!);
      byPrompt.set(p.prompt, m);
    });
    const perPrompt = new Map([...byPrompt].map(([prompt, m]) => [prompt, cosineEquivalence(m, this.c.spg_cosine_tau)]));
    return (a, b, prompt) => perPrompt.get(prompt)!(a, b, prompt);
  }

  /**
   * Best-of-n: per evaluation prompt, the SFT sample r_φ scores highest among best_of_n drawn at
   * rlp_temperature. One pick per prompt, also in sampled evaluation: each pick costs best_of_n
   * samples, and eval_samples_per_prompt picks would cost more than every other row's answers
   * together; its win-rate is the same expectation, with a wider standard error.
   */
  async #bestOfN(sft: CausalLM, reward: CausalLM): Promise<string[][]> {
    const groups = await this.#sample(sft, this.#data.eval.map((e) => e.prompt), this.c.best_of_n, this.c.rlp_temperature, this.seed + 2);
    const scores = await this.#scores(reward, groups.flat());
    let k = 0;
    return groups.map((g) => {
      let best = 0;
      g.forEach((_, i) => {
        if (scores[k + i]! > scores[k + best]!) best = i;
      });
      k += g.length;
      return [g[best]!.text];
    });
  }

  /** A policy's answers to the evaluation prompts: one greedy, or eval_samples_per_prompt samples at rlp_temperature (the same draws' seed for every policy). */
  async #answers(model: CausalLM, prompts: string[]): Promise<string[][]> {
    if (this.c.eval_decoding === 'sampled') return (await this.#sample(model, prompts, this.c.eval_samples_per_prompt, this.c.rlp_temperature, this.seed + 4)).map((g) => g.map((s) => s.text));
    const greedy = await generate(model, prompts, { tokenizer: this.#tokenizer, do_sample: false, max_new_tokens: this.c.max_new_tokens, batch_size: this.c.generation_batch_size });
    return greedy.map((g) => [g.text]);
  }

  /**
   * Every policy's answers judged against the references: its win-rate (a prompt's score is the
   * mean value of its answers) and each prompt's score, by policy; writes outputs.jsonl.
   */
  async #evaluate(policies: [RLPPolicyKey, CausalLM][], bestOfN: () => Promise<string[][]>): Promise<Map<RLPPolicyKey, number[]>> {
    const prompts = this.#data.eval.map((e) => e.prompt);
    const outputs = new Map<RLPPolicyKey, string[][]>();
    for (const [key, model] of policies) outputs.set(key, await this.#answers(model, prompts));
    outputs.set('best_of_n', await bestOfN());
    const codes = new Map<RLPPolicyKey, PreferenceCode[][]>();
    const scores = new Map<RLPPolicyKey, number[]>();
    const labels = new Map<RLPPolicyKey, string>([...RLP_POLICIES, ...SPG_ABLATIONS.map((v) => ({ key: `rlp_spg_${v}` as const, label: `SPG ablation, ${ablationLabel(v)}` }))].map((p) => [p.key, p.label]));
    for (const [key, label] of labels) {
      const texts = outputs.get(key);
      if (!texts) continue;
      const items = this.#data.eval.flatMap((e, i) => texts[i]!.map((output) => ({ ...e, output })));
      const { codes: flat } = await evaluateWinRate(items, this.source.annotator);
      let k = 0;
      const grouped = texts.map((t) => t.map(() => flat[k++]!));
      const { scores: perPrompt, ...winRate } = promptWinRate(grouped);
      codes.set(key, grouped);
      scores.set(key, perPrompt);
      this.#result.winRate[key] = winRate;
      this.log(`${label}: win-rate ${winRate.win_rate.toFixed(1)} ± ${winRate.standard_error.toFixed(1)} (${winRate.wins} wins, ${winRate.draws} draws, ${winRate.losses} losses)`);
    }
    if (this.hooks.storage) {
      // Greedy: each policy's answer and code; sampled: the lists of them (best-of-n's of one pick).
      const one = <T>(xs: T[]) => (this.c.eval_decoding === 'greedy' ? xs[0] : xs);
      const rows = this.#data.eval.map((e, i) => ({
        prompt: e.prompt,
        reference: e.reference,
        outputs: Object.fromEntries([...outputs].map(([k, v]) => [k, one(v[i]!)])),
        preference: Object.fromEntries([...codes].map(([k, v]) => [k, one(v[i]!)])),
      }));
      await this.#cache.setAside('outputs.jsonl', 'file');
      await writeJsonl(this.hooks.storage, 'outputs.jsonl', rows);
    }
    return scores;
  }

  /** Per pair of evaluated policies (RLP_PAIRED_DIFFERENCES), the mean per-prompt difference in win-rate points and its paired bootstrap interval. */
  #pairedDifferences(scores: Map<RLPPolicyKey, number[]>): void {
    RLP_PAIRED_DIFFERENCES.forEach((d, i) => {
      const a = scores.get(d.a), b = scores.get(d.b);
      if (!a || !b) return;
      const points = (xs: number[]) => xs.map((x) => 100 * x);
      const diff = pairedBootstrap(points(a), points(b), { seed: this.seed * 100 + i, resamples: this.c.eval_bootstrap_resamples });
      this.#result.pairedDifferences[d.key] = diff;
      this.log(`${d.label}: ${diff.mean.toFixed(1)} win-rate points [${diff.low.toFixed(1)}, ${diff.high.toFixed(1)}]`);
    });
  }

  /** Each reward model's agreement with the gold annotator on pairs of PPO-policy samples (gold draws left out). */
  async #preferenceAccuracy(ppo: CausalLM, rewardModels: [RLPRewardKey, CausalLM][]): Promise<void> {
    const gold = this.source.gold;
    if (!gold) return;
    const prompts = this.#data.eval.map((e) => e.prompt);
    const groups = await this.#sample(ppo, prompts, 2 * ACCURACY_PAIRS_PER_PROMPT, this.c.rlp_temperature, this.seed + 3);
    const judged = groups
      .flatMap((g, i) => Array.from({ length: ACCURACY_PAIRS_PER_PROMPT }, (_, k) => ({ g: [g[2 * k]!, g[2 * k + 1]!], code: gold(prompts[i]!, g[2 * k]!.text, g[2 * k + 1]!.text) })))
      .filter((x) => x.code !== 0);
    if (!judged.length) return;
    this.#result.counts.preference_accuracy = { pairs: judged.length };
    for (const [key, rm] of rewardModels) {
      const scores = await this.#scores(rm, judged.flatMap((x) => x.g));
      const agree = judged.filter((x, i) => (scores[2 * i]! > scores[2 * i + 1]!) === (x.code === 1)).length;
      this.#result.preferenceAccuracy[key] = agree / judged.length;
    }
    this.log(`preference accuracy on ${judged.length} gold-ranked pairs of PPO samples: ${rewardModels.map(([k]) => `${k} ${(100 * this.#result.preferenceAccuracy[k]!).toFixed(1)}%`).join(', ')}`);
  }
}
