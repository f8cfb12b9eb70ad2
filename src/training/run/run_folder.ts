// A training run's output folder:
//
//   config.json                 the run's settings (kept as they were when resuming)
//   metrics.jsonl               one line per logged step: {"step": 12, "loss": ..., ...}
//   rollouts.jsonl              PPO samples, one line each: {"step": 12, "prompt": ..., ...}
//   checkpoint-00000012/        see checkpoint.ts; complete iff renamed from .tmp and holding trainer_state.json
//   final/                      the trained model folder(s), for loadModel and `webrlhf generate`
//
// Every write is crash-safe: files are replaced atomically, directories are committed by a
// rename (atomic_directory.ts), and logs are appended and cut back on resume (step_log.ts).
import { CheckpointError, ConfigError } from '../../errors.js';
import type { ModelFolderSource } from '../../io/model_folder.js';
import { recoverDirectories, removeDirectoryAtomically, OLD_SUFFIX, TMP_SUFFIX, writeDirectoryAtomically } from './atomic_directory.js';
import {
  checkpointName, checkpointStep, restoreCheckpoint, TRAINER_STATE_FILE, writeCheckpointFiles, writeModelFiles,
  type Checkpoint, type CheckpointContents, type RestoreTargets,
} from './checkpoint.js';
import { configDifferences, type ConfigDifference } from './config_diff.js';
import { checkpointPause } from './fault_injection.js';
import { resolveRunStorage, type RunStorage } from './run_storage.js';
import { cutBackStepLog, metricsLine, stepLine } from './step_log.js';

export const RUN_CONFIG_FILE = 'config.json';
export const METRICS_FILE = 'metrics.jsonl';
export const ROLLOUTS_FILE = 'rollouts.jsonl';
export const FINAL_DIR = 'final';

export interface OpenRunOptions {
  /** The run's settings, written to config.json (a resumed run keeps the config.json it has). */
  config: object;
  /** Continue the run in this folder from its newest complete checkpoint (`--resume`). */
  resume?: boolean;
  /** Keep at most this many checkpoints, deleting the oldest after each save (TRL's save_total_limit); 0 or absent keeps all. */
  saveTotalLimit?: number;
}

/** Names a run writes at the top of its folder (without .tmp/.old suffixes). */
function isRunEntry(name: string): boolean {
  return name === RUN_CONFIG_FILE || name === METRICS_FILE || name === ROLLOUTS_FILE || name === FINAL_DIR || checkpointStep(name) !== undefined;
}

const baseName = (name: string) => name.replace(new RegExp(`(\\${TMP_SUFFIX}|\\${OLD_SUFFIX})$`), '');
const encoder = new TextEncoder();

/**
 * Opens a run folder: a directory path or file: URL (Node, Deno), or any RunStorage
 * (memoryRunStorage() in browsers). A new run needs a folder without a previous run's files
 * (else ConfigError: resume it or choose another folder) and writes config.json. With
 * `resume`, what a crash left half done is finished or removed, and `resumeFrom` is the
 * newest complete checkpoint (undefined: start from the beginning).
 */
export async function openRun(where: string | URL | RunStorage, options: OpenRunOptions): Promise<Run> {
  const { config, resume = false, saveTotalLimit = 0 } = options ?? ({} as OpenRunOptions);
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new ConfigError('openRun: config must be the run\'s settings as a plain object');
  if (!Number.isSafeInteger(saveTotalLimit) || saveTotalLimit < 0) throw new ConfigError(`save_total_limit must be a whole number ≥ 0 (0: keep every checkpoint), got ${JSON.stringify(saveTotalLimit)}`);
  const storage = resolveRunStorage(where);
  await storage.mkdirp('');
  let configBytes: Uint8Array;
  try {
    configBytes = encoder.encode(`${JSON.stringify(config, null, 2)}\n`);
  } catch (e) {
    throw new ConfigError(`openRun: the run's config is not JSON-serialisable (${e instanceof Error ? e.message : String(e)}); it is saved as config.json`);
  }
  if (!resume) {
    const used = ((await storage.list('')) ?? []).filter((name) => isRunEntry(baseName(name)));
    if (used.length) {
      throw new ConfigError(
        `${storage.location} already holds a run (${used.sort().slice(0, 4).join(', ')}${used.length > 4 ? ', ...' : ''}): ` +
          'pass --resume (resume: true) to continue it from its newest checkpoint, or choose another output_dir. webrlhf never overwrites a run\'s files.',
      );
    }
    await storage.write(RUN_CONFIG_FILE, configBytes);
    return new Run(storage, { saveTotalLimit, savedConfig: undefined, configChanges: [], resumeFrom: undefined, cleanedUp: [], cutLogs: false });
  }
  const cleanedUp = await recoverDirectories(storage, isRunEntry);
  const saved = await storage.read(RUN_CONFIG_FILE);
  let savedConfig: unknown;
  if (saved) {
    try {
      savedConfig = JSON.parse(new TextDecoder().decode(saved));
    } catch (e) {
      throw new CheckpointError(
        `${storage.location}/${RUN_CONFIG_FILE} is not valid JSON (${e instanceof Error ? e.message : String(e)}); restore it from your settings or start a new output_dir`,
        { file: RUN_CONFIG_FILE },
      );
    }
  } else {
    await storage.write(RUN_CONFIG_FILE, configBytes);
  }
  return new Run(storage, {
    saveTotalLimit,
    savedConfig,
    configChanges: saved ? configDifferences(savedConfig, config) : [],
    resumeFrom: (await completeCheckpoints(storage)).at(-1),
    cleanedUp,
    cutLogs: true,
  });
}

/** The complete checkpoints of a run folder, oldest first. */
async function completeCheckpoints(storage: RunStorage): Promise<Checkpoint[]> {
  const found: Checkpoint[] = [];
  for (const name of (await storage.list('')) ?? []) {
    const step = checkpointStep(name);
    if (step === undefined) continue;
    if (((await storage.list(name)) ?? []).includes(TRAINER_STATE_FILE)) found.push({ step, name, location: `${storage.location}/${name}` });
  }
  return found.sort((a, b) => a.step - b.step);
}

/** An open run folder. Writes happen in call order, one at a time. */
export class Run {
  readonly storage: RunStorage;
  /** The folder, for messages. */
  readonly location: string;
  /** config.json as the run that started this folder wrote it (undefined for a new run). */
  readonly savedConfig: unknown;
  /** Settings that differ between config.json and this resume's config ([] for a new run). */
  readonly configChanges: ConfigDifference[];
  /** When resuming: the newest complete checkpoint, to restore() (undefined: none, start from the beginning). */
  readonly resumeFrom: Checkpoint | undefined;
  /** What opening with resume removed: directories and files a crash left incomplete. */
  readonly cleanedUp: string[];
  readonly #saveTotalLimit: number;
  /** Logs are cut back to this step (undefined: emptied) before the next write; absent: nothing to cut. */
  #cut: { through: number | undefined } | undefined;
  #tail: Promise<void> = Promise.resolve();

  /** @internal use openRun() */
  constructor(
    storage: RunStorage,
    o: { saveTotalLimit: number; savedConfig: unknown; configChanges: ConfigDifference[]; resumeFrom: Checkpoint | undefined; cleanedUp: string[]; cutLogs: boolean },
  ) {
    this.storage = storage;
    this.location = storage.location;
    this.savedConfig = o.savedConfig;
    this.configChanges = o.configChanges;
    this.resumeFrom = o.resumeFrom;
    this.cleanedUp = o.cleanedUp;
    this.#saveTotalLimit = o.saveTotalLimit;
    // The cut waits for the first write: a resume that fails (a checkpoint that does not fit) loses no line.
    this.#cut = o.cutLogs ? { through: o.resumeFrom?.step } : undefined;
  }

  /** Runs `fn` after every earlier write, so lines and checkpoints land in call order. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.then(() => {}, () => {});
    return result;
  }

  /** Cuts the logs back to the restored step, once, before the first thing is appended after a resume. */
  async #applyCut(): Promise<void> {
    if (!this.#cut) return;
    for (const file of [METRICS_FILE, ROLLOUTS_FILE]) await cutBackStepLog(this.storage, file, this.#cut.through);
    this.#cut = undefined;
  }

  /** Appends one line `{"step": step, ...metrics}` to metrics.jsonl. */
  async log(step: number, metrics: Record<string, number>): Promise<void> {
    const line = encoder.encode(metricsLine(step, metrics));
    return this.#serial(async () => {
      await this.#applyCut();
      await this.storage.append(METRICS_FILE, line);
    });
  }

  /** Appends one line per row (`{"step": step, ...row}`) to rollouts.jsonl. */
  async logRollouts(step: number, rows: readonly object[]): Promise<void> {
    if (!Array.isArray(rows)) throw new ConfigError('run.logRollouts: rows must be an array of objects');
    const text = rows.map((row, i) => stepLine(`run.logRollouts (row ${i})`, step, row)).join('');
    return this.#serial(async () => {
      await this.#applyCut();
      if (text) await this.storage.append(ROLLOUTS_FILE, encoder.encode(text));
    });
  }

  /**
   * Saves a checkpoint as `checkpoint-<step>/`, atomically: everything is written into
   * `checkpoint-<step>.tmp/`, trainer_state.json last, then the directory is renamed. The logs
   * are flushed to disk first, so the lines up to `step` survive with the checkpoint. Then
   * the oldest checkpoints beyond save_total_limit are deleted. Await it before training on:
   * the parameters are read while it runs.
   */
  async saveCheckpoint(step: number, contents: CheckpointContents): Promise<Checkpoint> {
    if (!Number.isSafeInteger(step) || step < 0) throw new ConfigError(`saveCheckpoint: step must be a non-negative integer, got ${JSON.stringify(step)}`);
    return this.#serial(async () => {
      await this.#applyCut();
      const present = new Set((await this.storage.list('')) ?? []);
      for (const file of [METRICS_FILE, ROLLOUTS_FILE]) if (present.has(file)) await this.storage.sync(file);
      const name = checkpointName(step);
      const pause = checkpointPause();
      await writeDirectoryAtomically(this.storage, name, (dir) => writeCheckpointFiles(this.storage, dir, step, contents, pause));
      await this.#prune(name);
      return { step, name, location: `${this.location}/${name}` };
    });
  }

  /** Deletes the oldest complete checkpoints beyond the limit, never `keep` (the one just written). */
  async #prune(keep: string): Promise<void> {
    if (this.#saveTotalLimit <= 0) return;
    const all = await this.checkpoints();
    let excess = all.length - this.#saveTotalLimit;
    for (const c of all) {
      if (excess <= 0) break;
      if (c.name === keep) continue;
      await removeDirectoryAtomically(this.storage, c.name);
      excess--;
    }
  }

  /**
   * Saves the trained model(s) as `final/` (atomically, like a checkpoint): the first model
   * at its top, loadable by loadModel and `webrlhf generate --model <run>/final`, others in
   * subfolders. Returns where it is.
   */
  saveFinal(contents: Pick<CheckpointContents, 'models' | 'extraFiles'>): Promise<string> {
    return this.#serial(async () => {
      await this.#applyCut();
      const pause = checkpointPause();
      await writeDirectoryAtomically(this.storage, FINAL_DIR, (dir) => writeModelFiles(this.storage, dir, contents, pause));
      return `${this.location}/${FINAL_DIR}`;
    });
  }

  /** The complete checkpoints, oldest first. */
  checkpoints(): Promise<Checkpoint[]> {
    return completeCheckpoints(this.storage);
  }

  /** The newest complete checkpoint, or undefined when there is none. */
  async latestCheckpoint(): Promise<Checkpoint | undefined> {
    return (await this.checkpoints()).at(-1);
  }

  /**
   * Loads a checkpoint into live models and optimizers (by the names they were saved under)
   * and returns the trainer state saved with it. Everything is checked first: a checkpoint
   * that does not fit (another model shape, heads, optimizer size, a missing tensor) is a
   * CheckpointError, with the live objects unchanged. After a restore, the logs are cut back
   * to the checkpoint's step before the next line is appended.
   */
  restore(checkpoint: Checkpoint, targets: RestoreTargets): Promise<unknown> {
    return this.#serial(async () => {
      const state = await restoreCheckpoint(this.storage, checkpoint, targets);
      this.#cut = { through: checkpoint.step };
      return state;
    });
  }

  /**
   * A model folder inside the run ("final", "checkpoint-00000012", "checkpoint-00000012/value_model"),
   * for loadModel / loadTokenizer / loadModelFolder, whatever the storage (memory included).
   */
  modelFolder(path: string): ModelFolderSource {
    return { location: `${this.location}/${path}`, read: (name) => this.storage.read(`${path}/${name}`) };
  }
}
