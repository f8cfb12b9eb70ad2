// The outer loop of a multi-seed pipeline (RLMEC, RLP): open the run folder, run the pipeline
// once per seed (seed, seed + 1, …) in that seed's folder, then the tables over all seeds,
// written as results.json.
import type { Backend } from '../backend/backend.js';
import type { CausalLM } from '../nn/causal_lm.js';
import { FINAL_DIR, openRun } from '../training/run/run_folder.js';
import { resolveRunStorage } from '../training/run/run_storage.js';
import type { TrainOptions } from '../training/trainer.js';
import { seedFolder, setAside, stageOptions, writeText, type ExperimentHooks, type StageHooks } from './stage.js';

/** What one seed's pipeline gets: the caller's hooks, a log line sink and the seed's folder. */
export interface SeedHooks extends StageHooks {
  log: (line: string) => void;
  /** The seed's folder as a path, when the run's output is one: a LoRA adapter saved there names its base by path. */
  path?: string;
}

/** What every seed's result holds besides its figures. */
export interface SeedRun {
  seed: number;
  /** Wall-clock seconds of the seed's pipeline. */
  seconds: number;
}

export interface SeedLoop<S, T extends object> {
  /** The pipeline's settings (config.json); the seeds run are seed, seed + 1, … (`seeds` of them). */
  config: { seed: number; seeds: number };
  /** Continue the run already in the folder (a rerun): its config.json is kept, its results.json set aside. */
  rerun?: boolean;
  /** One seed's pipeline. */
  runSeed(seed: number, hooks: SeedHooks): Promise<S>;
  /** The tables over every seed's result (and their text), in the order results.json lists them. */
  tables(results: S[], seeds: number[]): T;
}

/** results.json: the backend, the data's name, each seed's result, the tables, the run's seconds. */
export type SeedLoopResult<S, T extends object> = { backend: string; data: string; seeds: S[] } & T & { seconds: number };

/** Runs every seed in order (the signal is checked before each), then writes results.json when there is a folder. */
export async function runSeeds<S, T extends object>(backend: Backend, source: { name: string }, hooks: ExperimentHooks, loop: SeedLoop<S, T>): Promise<SeedLoopResult<S, T>> {
  const t0 = performance.now();
  const log = hooks.log ?? (() => {});
  const storage = hooks.output === undefined ? undefined : resolveRunStorage(hooks.output);
  if (storage) {
    await openRun(storage, { config: loop.config, resume: loop.rerun === true });
    if (loop.rerun) await setAside(storage, 'results.json', 'file');
  }
  const { seed: first, seeds: count } = loop.config;
  const seeds = Array.from({ length: count }, (_, i) => first + i);
  const results: S[] = [];
  for (const seed of seeds) {
    hooks.signal?.throwIfAborted();
    log(`seed ${seed}: ${source.name}`);
    const path = typeof hooks.output === 'string' ? { path: `${hooks.output.replace(/\/+$/, '')}/seed-${seed}` } : {};
    results.push(await loop.runSeed(seed, { ...hooks, log, storage: await seedFolder(storage, seed), ...path }));
  }
  const result = { backend: backend.kind, data: source.name, seeds: results, ...loop.tables(results, seeds), seconds: (performance.now() - t0) / 1000 };
  if (storage) await writeText(storage, 'results.json', `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

/**
 * What one seed's pipeline shares, whatever its stages: a log whose lines name the seed, the
 * models it owns (freed when it ends, however it ends), each trained stage's TrainOptions,
 * and the result's seconds. A pipeline's stages go in `stages()`.
 */
export abstract class SeedStages<R extends SeedRun> {
  readonly #owned: CausalLM[] = [];

  constructor(readonly seed: number, readonly hooks: SeedHooks, private readonly runConfig: object) {}

  async run(): Promise<R> {
    const t0 = performance.now();
    let result: R;
    try {
      result = await this.stages();
    } finally {
      for (const m of this.#owned) m.dispose();
    }
    result.seconds = (performance.now() - t0) / 1000;
    return result;
  }

  /** The pipeline's stages for this seed; returns the seed's result. */
  protected abstract stages(): Promise<R>;

  protected log(line: string): void {
    this.hooks.log(`seed ${this.seed}: ${line}`);
  }

  /** Gives the seed a model to free when it ends. */
  protected own(model: CausalLM): CausalLM {
    this.#owned.push(model);
    return model;
  }

  /** Where a stage's final model is, as a path (a LoRA adapter's base_model_name_or_path); null when the run has no folder path. */
  protected finalPath(stage: string): string | null {
    return this.hooks.path === undefined ? null : `${this.hooks.path}/${stage}/${FINAL_DIR}`;
  }

  /** A trained stage's TrainOptions: its run folder in the seed's, its bar and step events. */
  protected stage(name: string, keyMetric: string): Promise<TrainOptions> {
    return stageOptions(this.hooks, this.seed, name, this.runConfig, keyMetric);
  }
}
