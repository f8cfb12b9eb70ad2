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
import { mergePreferences, synthesizePreferences, type SampleGroup } from '../../algorithms/rlp/synthetic_preferences.js';
import { umlRewardConfig } from '../../algorithms/rlp/uml_reward_config.js';
import { UMLRewardTrainer, type ViewPair } from '../../algorithms/rlp/uml_reward_trainer.js';
import type { Backend } from '../../backend/backend.js';
import { auditPreferences } from '../../data/datasets.js';
import type { PreferenceRecord } from '../../data/records.js';
import { ConfigError } from '../../errors.js';
import { evaluateWinRate, type PreferenceCode, type WinRateResult } from '../../eval/win_rate.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import { generate, type GeneratedSequence } from '../../text/generate.js';
import { rewardScores } from '../../text/score.js';
import type { Tokenizer } from '../../text/tokenizer.js';
import { MODEL_DTYPES, peftConfig, pipelineBase, trainedCopy } from '../../training/config/peft.js';
import { padId } from '../../training/trainer_parts.js';
import { trainPPOStage } from '../ppo_stage.js';
import { formatTable, oneDecimal, summarise, tableRows, type MethodSummary, type RowKey } from '../comparison_table.js';
import { SeedStages, runSeeds, type SeedHooks, type SeedLoopResult, type SeedRun } from '../seed_loop.js';
import { writeJsonl, type ExperimentHooks } from '../stage.js';
import { StageCache } from '../stage_cache.js';
import { rerunStages, type RLPRunConfig, type RLPStage } from './run_config.js';
import type { RLPSeedData, RLPSource } from './source.js';

/** Pairs of PPO samples per evaluation prompt that the reward models' preference accuracy is measured on (most pairs are gold draws or identical, so one is too few). */
const ACCURACY_PAIRS_PER_PROMPT = 2;

/** The win-rate table's rows, in order. */
export const RLP_POLICIES = tableRows({ sft: 'SFT', best_of_n: 'best-of-n (r_φ)', ppo: 'PPO', rlp_uml: 'RLP-UML', rlp_spg: 'RLP-SPG' });
export type RLPPolicyKey = RowKey<typeof RLP_POLICIES>;

/** The preference-accuracy table's rows: the reward model each PPO run used. */
export const RLP_REWARD_MODELS = tableRows({ reward: 'r_φ (D)', reward_uml: 'RLP-UML (D + λ·L_M)', reward_spg: 'RLP-SPG (D ∪ D̂)' });
export type RLPRewardKey = RowKey<typeof RLP_REWARD_MODELS>;

export interface RLPSeedResult extends SeedRun {
  /** Win-rate (%) against the references, with its standard error over the prompts. */
  winRate: Partial<Record<RLPPolicyKey, WinRateResult>>;
  /** Each reward model's accuracy against the gold annotator on pairs sampled from the PPO policy. */
  preferenceAccuracy: Partial<Record<RLPRewardKey, number>>;
  /** Counts of each data stage (labelling, audit, SPG's kept and dropped prompts). */
  counts: Record<string, Record<string, number>>;
}

export interface RLPTables {
  /** Win-rate (%), mean ± s.e. over the seeds. */
  table: MethodSummary[];
  /** Preference accuracy against the gold annotator, mean ± s.e. over the seeds. */
  preferenceTable: MethodSummary[];
  /** Both tables as text. */
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

/** Win-rates and preference accuracies, mean ± s.e. over the seeds, of the rows the run's method includes. */
function rlpTables(config: RLPRunConfig, results: RLPSeedResult[], seeds: number[]): RLPTables {
  const policies = RLP_POLICIES.filter((p) => included(config, p.key));
  const rewardModels = RLP_REWARD_MODELS.filter((r) => included(config, r.key));
  const table = policies.map((p) => summarise(p.label, results.map((r) => r.winRate[p.key]?.win_rate ?? NaN)));
  const preferenceTable = rewardModels.map((m) => summarise(m.label, results.map((r) => r.preferenceAccuracy[m.key] ?? NaN)));
  const text = [
    formatTable(table, seeds, { metric: 'win-rate vs reference, %', format: oneDecimal }),
    '',
    formatTable(preferenceTable, seeds, { metric: 'preference accuracy vs gold' }),
  ].join('\n');
  return { table, preferenceTable, text };
}

/** Whether the run's method choice includes a row. */
function included(c: RLPRunConfig, key: RLPPolicyKey | RLPRewardKey): boolean {
  if (key.endsWith('_uml')) return c.method !== 'spg';
  if (key.endsWith('_spg')) return c.method !== 'uml';
  return true;
}

/** A policy's samples on one prompt, with r_φ's score of each. */
type ScoredSamples = SampleGroup;

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
    this.#result = { seed, winRate: {}, preferenceAccuracy: {}, counts: {}, seconds: 0 };
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
    const D = await this.#records('preferences', () => this.#labelPreferences(sft));
    const reward = (await this.#model('reward', () => this.#trainReward('reward', sft, D), sft)).freeze();
    const ppo = await this.#model('ppo', () => this.#trainPPO('ppo', sft, reward), sft);
    const samples = await this.#rows<ScoredSamples>('policy_samples', () => this.#policySamples(ppo, reward));
    const policies: [RLPPolicyKey, CausalLM][] = [['sft', sft], ['ppo', ppo]];
    const rewardModels: [RLPRewardKey, CausalLM][] = [['reward', reward]];
    if (c.method !== 'spg') {
      const rm = (await this.#model('reward_uml', () => this.#trainUML(sft, D, samples), sft)).freeze();
      rewardModels.push(['reward_uml', rm]);
      policies.push(['rlp_uml', await this.#model('ppo_uml', () => this.#trainPPO('ppo_uml', sft, rm), sft)]);
    }
    if (c.method !== 'uml') {
      const Dhat = await this.#records('synthetic_preferences', () => this.#synthesize(reward, samples));
      const rm = (await this.#model('reward_spg', () => this.#trainReward('reward_spg', sft, mergePreferences(D, Dhat).records), sft)).freeze();
      rewardModels.push(['reward_spg', rm]);
      policies.push(['rlp_spg', await this.#model('ppo_spg', () => this.#trainPPO('ppo_spg', sft, rm), sft)]);
    }
    await this.#evaluate(policies, await this.#bestOfN(sft, reward));
    await this.#preferenceAccuracy(ppo, rewardModels);
    return this.#result;
  }

  /** A trained stage's model (trained now, or loaded when the stage is not rerun; an adapter onto `base`, the model it started from); the seed owns it. */
  async #model(stage: RLPStage, train: () => Promise<CausalLM>, base?: CausalLM): Promise<CausalLM> {
    return this.own(await this.#cache.model(stage, train, base));
  }

  /** A reward model's start: a copy of SFT with a zero score head, or with use_peft a SEQ_CLS adapter on it whose score head trains in full. */
  #rewardModel(sft: CausalLM): Promise<CausalLM> {
    return trainedCopy(sft, this.c, { task: 'SEQ_CLS', heads: { score: true }, base: this.finalPath('sft') });
  }

  /** A data stage's rows (made now, or read when the stage is not rerun). */
  #rows<T>(stage: RLPStage, make: () => Promise<T[]>): Promise<T[]> {
    return this.#cache.rows(stage, make);
  }

  /** Preference pairs as a data stage; the loaded ones are audited like fresh ones. */
  async #records(stage: 'preferences' | 'synthetic_preferences', make: () => Promise<PreferenceRecord[]>): Promise<PreferenceRecord[]> {
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
  async #trainReward(stage: 'reward' | 'reward_spg', sft: CausalLM, records: readonly PreferenceRecord[]): Promise<CausalLM> {
    if (!records.length) throw new ConfigError(`RLP: no preference pairs to train ${stage} on`);
    const rm = await this.#rewardModel(sft);
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
  async #trainUML(sft: CausalLM, D: readonly PreferenceRecord[], samples: readonly ScoredSamples[]): Promise<CausalLM> {
    const c = this.c;
    const views: ViewPair[] = samples.flatMap((s) => {
      const pairs: ViewPair[] = [];
      for (let i = 0; i + 1 < s.outputs.length; i += 2) pairs.push({ prompt: s.prompt, first: s.outputs[i]!, second: s.outputs[i + 1]! });
      return pairs;
    });
    const rm = await this.#rewardModel(sft);
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
  async #trainPPO(stage: 'ppo' | 'ppo_uml' | 'ppo_spg', sft: CausalLM, rm: CausalLM): Promise<CausalLM> {
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


  /** n samples per unlabeled prompt from the PPO policy (temperature rlp_temperature), each scored by r_φ. */
  async #policySamples(ppo: CausalLM, reward: CausalLM): Promise<ScoredSamples[]> {
    const groups = await this.#sample(ppo, this.#data.unlabeled, this.c.rlp_num_samples, this.c.rlp_temperature, this.seed + 1);
    const scores = await this.#scores(reward, groups.flat());
    let k = 0;
    const rows = groups.map((g, i) => ({ prompt: this.#data.unlabeled[i]!, outputs: g.map((s) => s.text), scores: g.map(() => scores[k++]!) }));
    this.log(`policy_samples: ${rows.length} prompts × ${this.c.rlp_num_samples} samples`);
    return rows;
  }

  /** D̂: RLP-SPG's synthetic pairs from the policy's clustered samples. */
  async #synthesize(reward: CausalLM, samples: readonly ScoredSamples[]): Promise<PreferenceRecord[]> {
    const equivalent = await this.#equivalence(reward, samples);
    const out = synthesizePreferences(samples, equivalent, { gamma: this.c.spg_gamma, seed: this.seed });
    const mean = out.confidences.reduce((a, b) => a + b, 0) / Math.max(out.confidences.length, 1);
    this.#result.counts.spg = { prompts: samples.length, kept: out.kept, low_confidence: out.lowConfidence, single_cluster: out.singleCluster, mean_confidence: mean };
    this.log(`synthetic_preferences: kept ${out.kept} of ${samples.length} prompts (low confidence ${out.lowConfidence}, one cluster ${out.singleCluster}; mean confidence ${mean.toFixed(2)})`);
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

  /** Best-of-n: per evaluation prompt, the SFT sample r_φ scores highest. */
  async #bestOfN(sft: CausalLM, reward: CausalLM): Promise<string[]> {
    const groups = await this.#sample(sft, this.#data.eval.map((e) => e.prompt), this.c.best_of_n, this.c.rlp_temperature, this.seed + 2);
    const scores = await this.#scores(reward, groups.flat());
    let k = 0;
    return groups.map((g) => {
      let best = 0;
      g.forEach((_, i) => {
        if (scores[k + i]! > scores[k + best]!) best = i;
      });
      k += g.length;
      return g[best]!.text;
    });
  }

  /** Each policy's greedy outputs on the evaluation prompts, judged against the references; writes outputs.jsonl. */
  async #evaluate(policies: [RLPPolicyKey, CausalLM][], bestOfN: string[]): Promise<void> {
    const prompts = this.#data.eval.map((e) => e.prompt);
    const outputs = new Map<RLPPolicyKey, string[]>();
    for (const [key, model] of policies) {
      const greedy = await generate(model, prompts, { tokenizer: this.#tokenizer, do_sample: false, max_new_tokens: this.c.max_new_tokens, batch_size: this.c.generation_batch_size });
      outputs.set(key, greedy.map((g) => g.text));
    }
    outputs.set('best_of_n', bestOfN);
    const codes = new Map<RLPPolicyKey, PreferenceCode[]>();
    for (const p of RLP_POLICIES) {
      const texts = outputs.get(p.key);
      if (!texts) continue;
      const result = await evaluateWinRate(this.#data.eval.map((e, i) => ({ ...e, output: texts[i]! })), this.source.annotator);
      const { codes: c, ...winRate } = result;
      codes.set(p.key, c);
      this.#result.winRate[p.key] = winRate;
      this.log(`${p.label}: win-rate ${winRate.win_rate.toFixed(1)} ± ${winRate.standard_error.toFixed(1)} (${winRate.wins} wins, ${winRate.draws} draws, ${winRate.losses} losses)`);
    }
    if (this.hooks.storage) {
      const rows = this.#data.eval.map((e, i) => ({
        prompt: e.prompt,
        reference: e.reference,
        outputs: Object.fromEntries([...outputs].map(([k, v]) => [k, v[i]])),
        preference: Object.fromEntries([...codes].map(([k, v]) => [k, v[i]])),
      }));
      await this.#cache.setAside('outputs.jsonl', 'file');
      await writeJsonl(this.hooks.storage, 'outputs.jsonl', rows);
    }
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
