// What the multi-stage experiments (`webrlhf rlmec`, `webrlhf rlp`) share: each trained stage
// gets its own run folder inside the seed's folder and a progress bar, and small text files
// (results, samples) are written atomically through the run's storage.
import { readJsonlLines } from '../data/jsonl.js';
import { Progress, type ProgressStream } from '../train/progress.js';
import { openRun } from '../train/run_folder.js';
import { subRunStorage, type RunStorage } from '../train/run_storage.js';
import type { TrainOptions } from '../train/trainer.js';

export interface StageHooks {
  /** The seed's folder; none: nothing is written. */
  storage: RunStorage | undefined;
  /** Where progress bars go; none: no bars. */
  progress?: ProgressStream;
  signal?: AbortSignal;
}

/** A stage's TrainOptions: run folder `dir` under the seed's (config.json = `config`), and a bar labelled `label` once its length is known. */
export async function stageOptions(hooks: StageHooks, dir: string, label: string, config: object, keyMetric: string): Promise<TrainOptions> {
  const run = hooks.storage ? await openRun(subRunStorage(hooks.storage, dir), { config }) : undefined;
  let bar: Progress | undefined;
  return {
    run,
    signal: hooks.signal,
    onStep: (e) => {
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
