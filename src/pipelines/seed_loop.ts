// The outer loop of a multi-seed pipeline (RLMEC, RLP): open the run folder, run the pipeline
// once per seed (seed, seed + 1, …) in that seed's folder, then the tables over all seeds,
// written as results.json.
import type { Backend } from '../backend/backend.js';
import { openRun } from '../training/run/run_folder.js';
import { resolveRunStorage } from '../training/run/run_storage.js';
import { seedFolder, setAside, writeText, type ExperimentHooks, type StageHooks } from './stage.js';

/** What one seed's pipeline gets: the caller's hooks, a log line sink and the seed's folder. */
export interface SeedHooks extends StageHooks {
  log: (line: string) => void;
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
    results.push(await loop.runSeed(seed, { ...hooks, log, storage: await seedFolder(storage, seed) }));
  }
  const result = { backend: backend.kind, data: source.name, seeds: results, ...loop.tables(results, seeds), seconds: (performance.now() - t0) / 1000 };
  if (storage) await writeText(storage, 'results.json', `${JSON.stringify(result, null, 2)}\n`);
  return result;
}
