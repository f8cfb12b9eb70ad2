// What the pipelines (`webrlhf rlmec`, `webrlhf rlp`, the demo) share, stage by stage: a
// trained stage gets its own run folder inside the seed's folder and a progress bar, and small
// files (results, samples, a data stage's rows) are written atomically through the run's
// storage and read back; a stage run again first sets its earlier output aside.
import { readJsonlLines } from '../data/jsonl.js';
import { Progress, type ProgressStream } from '../training/progress.js';
import { openRun } from '../training/run/run_folder.js';
import { subRunStorage, type RunStorage } from '../training/run/run_storage.js';
import type { StepEvent, TrainOptions } from '../training/trainer.js';

/** One optimizer step of one stage of a multi-stage experiment (for live charts). */
export interface StageStepEvent extends StepEvent {
  seed: number;
  /** The stage's name, as its run folder is named: 'sft', 'grm', 'rlmec', 'reward', 'ppo_spg', … */
  stage: string;
}

/** What a caller of a multi-stage experiment (RLMEC, RLP, the demo) may give it. */
export interface ExperimentHooks {
  /** The run folder (a path, a file: URL or a RunStorage); none: nothing is written. */
  output?: string | URL | RunStorage;
  /** One line per stage and result (the CLI prints them to stderr). */
  log?: (line: string) => void;
  /** Where progress bars go (the CLI's stderr); none: no bars. */
  progress?: ProgressStream;
  /** Every optimizer step of every trained stage, with its metrics. */
  onStep?: (e: StageStepEvent) => void;
  /** Stops the run between steps (an AbortError, the signal's reason, is thrown). */
  signal?: AbortSignal;
}

export interface StageHooks extends Omit<ExperimentHooks, 'output' | 'log'> {
  /** The seed's folder; none: nothing is written. */
  storage: RunStorage | undefined;
}

/**
 * The folder of one seed (`seed-N`) under the run's, made now: the first stage's run folder
 * would make it too, but a source's own starting policy may train no stage at all.
 */
export async function seedFolder(storage: RunStorage | undefined, seed: number): Promise<RunStorage | undefined> {
  if (!storage) return undefined;
  await storage.mkdirp(`seed-${seed}`);
  return subRunStorage(storage, `seed-${seed}`);
}

/**
 * A stage's TrainOptions: run folder `stage` under the seed's (its config.json: the pipeline's
 * config with the stage and seed), step events tagged with the seed and stage, and a bar once
 * its length is known.
 */
export async function stageOptions(hooks: StageHooks, seed: number, stage: string, runConfig: object, keyMetric: string): Promise<TrainOptions> {
  const config = { ...runConfig, stage, seed };
  const run = hooks.storage ? await openRun(subRunStorage(hooks.storage, stage), { config }) : undefined;
  let bar: Progress | undefined;
  const label = `seed ${seed} ${stage}`;
  return {
    run,
    signal: hooks.signal,
    onStep: (e) => {
      hooks.onStep?.({ ...e, seed, stage });
      if (!hooks.progress) return;
      bar ??= new Progress({ label, total: e.totalSteps, stream: hooks.progress, keyMetric });
      bar.update(e.step, { tokens: e.tokens, metrics: e.metrics });
      if (e.step === e.totalSteps) bar.finish();
    },
  };
}

const encoder = new TextEncoder();

/** Writes a text file atomically (RunStorage.write). */
export async function writeText(storage: RunStorage, path: string, text: string): Promise<void> {
  await storage.write(path, encoder.encode(text));
}

/** Reads a JSONL file the run wrote (undefined when it is missing); a broken line throws a DatasetError naming the file and line. */
export async function readJsonl<T>(storage: RunStorage, path: string): Promise<T[] | undefined> {
  const bytes = await storage.read(path);
  if (!bytes) return undefined;
  const rows: T[] = [];
  for await (const { value } of readJsonlLines({ text: bytes, name: `${storage.location}/${path}` })) rows.push(value as T);
  return rows;
}

/** Writes one JSON object per line. */
export function writeJsonl(storage: RunStorage, path: string, rows: readonly unknown[]): Promise<void> {
  return writeText(storage, path, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
}

/**
 * Moves a stage's earlier output (the file or folder at `path`) aside to
 * `<name>.before-rerun-N<ext>` (the first free N; a folder has no ext) before the stage runs
 * again: a rerun never destroys what a run saved. Returns the new name, or undefined when
 * there was nothing at `path`.
 */
export async function setAside(storage: RunStorage, path: string, kind: 'file' | 'folder'): Promise<string | undefined> {
  const slash = path.lastIndexOf('/');
  const [dir, name] = slash >= 0 ? [path.slice(0, slash), path.slice(slash + 1)] : ['', path];
  const names = new Set((await storage.list(dir)) ?? []);
  if (!names.has(name)) return undefined;
  const dot = kind === 'file' ? name.lastIndexOf('.') : -1;
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  let n = 1;
  while (names.has(`${stem}.before-rerun-${n}${ext}`)) n++;
  const to = `${dir ? `${dir}/` : ''}${stem}.before-rerun-${n}${ext}`;
  await storage.rename(path, to);
  return to;
}
