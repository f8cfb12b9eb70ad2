// A pipeline's stage outputs kept in the seed's folder, so that a later run can run chosen
// stages again and load the others from there: a trained stage's model from <stage>/final, a
// data stage's rows from <stage>.jsonl. A stage runs (and saves) when it is in `rerun` or
// when the run has no folder; a stage run again first sets its earlier output aside.
import type { Backend } from '../backend/backend.js';
import { ConfigError } from '../errors.js';
import { loadModel, type LoadModelOptions } from '../io/pretrained_model.js';
import type { CausalLM } from '../nn/causal_lm.js';
import { storageFolder } from '../training/run/checkpoint.js';
import { FINAL_DIR } from '../training/run/run_folder.js';
import type { RunStorage } from '../training/run/run_storage.js';
import { readJsonl, setAside, writeJsonl } from './stage.js';

export interface StageCacheOptions {
  /** Names the pipeline in errors ('RLP'). */
  pipeline: string;
  backend: Backend;
  /** The seed's folder; none: every stage runs and nothing is saved or loaded. */
  storage: RunStorage | undefined;
  /** The stages to run; every other one is loaded. */
  rerun: ReadonlySet<string>;
  /** Whether this run continues an earlier one in its folder (only then can earlier output be in the way). */
  continuing: boolean;
  /** The seed's log. */
  log: (line: string) => void;
  /** How a stage's full model folder loads (dtype: a frozen 16-bit base with use_peft). */
  load?: Pick<LoadModelOptions, 'dtype'>;
}

export class StageCache {
  constructor(readonly o: StageCacheOptions) {}

  /**
   * A trained stage's model: trained now (its stage's run folder saves it in <stage>/final), or
   * loaded from there. `base` is the model the stage started from: a stage trained with use_peft
   * saved a LoRA adapter, which loads onto it (sharing its weights) rather than onto the folder
   * its adapter_config.json names, which may be elsewhere or absent (a run in memory).
   */
  async model(stage: string, train: () => Promise<CausalLM>, base?: CausalLM): Promise<CausalLM> {
    const { storage } = this.o;
    if (!storage) return train();
    if (this.o.rerun.has(stage)) {
      await this.setAside(stage, 'folder');
      return train();
    }
    const dir = `${stage}/${FINAL_DIR}`;
    if (!(await storage.list(dir))) throw new ConfigError(`${this.o.pipeline}: rerun needs stage ${stage}'s model in ${storage.location}/${dir}, which is missing; add ${stage} to rerun`);
    const model = await loadModel(this.o.backend, storageFolder(storage, dir), { ...this.o.load, ...(base ? { base } : {}) });
    this.o.log(`${stage}: loaded from ${storage.location}/${dir}`);
    return model;
  }

  /** A data stage's rows: made now and written as <stage>.jsonl, or read from there. */
  async rows<T>(stage: string, make: () => Promise<T[]>): Promise<T[]> {
    const { storage } = this.o;
    const file = `${stage}.jsonl`;
    if (this.o.rerun.has(stage) || !storage) {
      if (storage) await this.setAside(file, 'file');
      const rows = await make();
      if (storage) await writeJsonl(storage, file, rows);
      return rows;
    }
    const rows = await readJsonl<T>(storage, file);
    if (!rows) throw new ConfigError(`${this.o.pipeline}: rerun needs stage ${stage}'s ${storage.location}/${file}, which is missing; add ${stage} to rerun`);
    this.o.log(`${stage}: loaded from ${storage.location}/${file}`);
    return rows;
  }

  /** Moves an output about to be written again aside (only a continued run finds one there). */
  async setAside(path: string, kind: 'file' | 'folder'): Promise<void> {
    if (!this.o.continuing || !this.o.storage) return;
    const to = await setAside(this.o.storage, path, kind);
    if (to) this.o.log(`${path}: the earlier output is now ${to}`);
  }
}
