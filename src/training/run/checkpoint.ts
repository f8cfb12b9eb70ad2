// What one checkpoint directory holds, how it is written and how it is read back into live
// models and optimizers. The directory's atomicity (.tmp + rename) is atomic_directory.ts's.
//
//   config.json, model.safetensors   the first model (the policy): a model folder
//   <name>/config.json, ...          every further model, in a subfolder named after it
//   optimizer.safetensors            <name>.exp_avg, <name>.exp_avg_sq per optimizer; steps in __metadata__
//   <name>.safetensors               each parameter store that is not a model (RLP-UML's mib_heads)
//   <extra files>                    e.g. tokenizer.json, so `webrlhf generate --model` works
//   trainer_state.json               written last: its presence marks the checkpoint complete
import { CheckpointError, ConfigError } from '../../errors.js';
import { saveModel } from '../../io/pretrained_model.js';
import { ADAPTER_WEIGHTS_FILE, adapterTensorName, readAdapterFolder } from '../../io/peft_adapter.js';
import { CONFIG_FILE, loadModelFolder, WEIGHTS_FILE, type ModelFolderSource, type ModelFolderTarget } from '../../io/model_folder.js';
import { parseSafetensors, serializeSafetensors, type SafetensorsTensor } from '../../io/safetensors.js';
import type { AdamW } from '../../nn/adamw.js';
import { shapeKeys } from '../../nn/architecture.js';
import { decoderTensors } from '../../nn/decoder_tensors.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import type { ParameterStore } from '../../nn/parameter_store.js';
import type { RunStorage } from './run_storage.js';

export const TRAINER_STATE_FILE = 'trainer_state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
const FORMAT = 'webrlhf-checkpoint';
const VERSION = 1;

/** Files a model folder or a checkpoint writes itself; extra files may not take these names. */
const RESERVED = new Set([CONFIG_FILE, WEIGHTS_FILE, OPTIMIZER_FILE, TRAINER_STATE_FILE]);

/** What a checkpoint saves. */
export interface CheckpointContents {
  /**
   * Models by name. The first (the policy) is saved at the checkpoint's top, as a model folder
   * that `loadModel` and `webrlhf generate --model` read; each further one in a subfolder named
   * after it (e.g. `value_model/`).
   */
  models: Record<string, CausalLM>;
  /** Optimizers by name: their moments and step go to optimizer.safetensors. */
  optimizers?: Record<string, AdamW>;
  /**
   * Trained tensors that are no model, by name (RLP-UML's bottleneck heads): each store's
   * tensors go to `<name>.safetensors`. Checkpoints only: final/ holds the models.
   */
  parameters?: Record<string, ParameterStore>;
  /** More files for the checkpoint's top folder, e.g. the tokenizer's (tokenizerFiles()). */
  extraFiles?: ReadonlyMap<string, Uint8Array> | Record<string, Uint8Array>;
  /**
   * The trainer's own state as JSON (step, epoch, RNG state, data position, adaptive KL
   * coefficient, ...), returned as it was by restore(). NaN and ±Infinity become null, as
   * JSON has them not; keep exact values as strings.
   */
  state?: unknown;
}

/** A complete checkpoint of a run folder. */
export interface Checkpoint {
  readonly step: number;
  /** Its directory in the run folder: `checkpoint-00000012`. */
  readonly name: string;
  /** Where it is, for messages and for loadModel: e.g. "directory runs/ppo/checkpoint-00000012". */
  readonly location: string;
}

/** The live objects a checkpoint is read into (by the names they were saved under). */
export interface RestoreTargets {
  models?: Record<string, CausalLM>;
  optimizers?: Record<string, AdamW>;
  parameters?: Record<string, ParameterStore>;
}

/** trainer_state.json. */
interface TrainerStateFile {
  format: string;
  version: number;
  global_step: number;
  /** Model name → its folder in the checkpoint ("." for the top). */
  models: Record<string, string>;
  optimizers: string[];
  /** Parameter stores, each in <name>.safetensors (absent in checkpoints written before there were any). */
  parameters?: string[];
  extra_files: string[];
  state?: unknown;
}

const STEP_DIGITS = 8;
const CHECKPOINT_NAME = /^checkpoint-(\d+)$/;
const NAME = /^[A-Za-z0-9_-]+$/;
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** `checkpoint-00000012`: zero-padded, so the names sort by step. */
export function checkpointName(step: number): string {
  return `checkpoint-${String(step).padStart(STEP_DIGITS, '0')}`;
}

/** The step of a checkpoint directory's name, or undefined when it is not one. */
export function checkpointStep(name: string): number | undefined {
  const m = CHECKPOINT_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** A subfolder of the run folder as a model folder: read by loadModelFolder, written by saveModel. */
export function storageFolder(storage: RunStorage, dir: string, afterEachFile: () => Promise<void> = async () => {}): ModelFolderSource & ModelFolderTarget {
  return {
    location: `${storage.location}/${dir}`,
    read: (name) => storage.read(`${dir}/${name}`),
    prepare: () => storage.mkdirp(dir),
    write: async (name, bytes) => {
      await storage.write(`${dir}/${name}`, bytes);
      await afterEachFile();
    },
  };
}

const json = (value: unknown) => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

function extraFileEntries(files: CheckpointContents['extraFiles']): [string, Uint8Array][] {
  if (!files) return [];
  return files instanceof Map ? [...files] : Object.entries(files as Record<string, Uint8Array>);
}

/** The folder of each model: the first at the top ("."), the others in subfolders named after them. */
function modelFolders(models: Record<string, CausalLM>): [name: string, folder: string][] {
  return Object.keys(models).map((name, i) => [name, i === 0 ? '.' : name]);
}

const within = (dir: string, folder: string) => (folder === '.' ? dir : `${dir}/${folder}`);

/** The file of a parameter store in a checkpoint. */
const parametersFile = (name: string) => `${name}.safetensors`;

/** Checks names before anything is written, so a bad call leaves no half checkpoint behind. */
function checkContents(what: string, contents: Partial<CheckpointContents> & Pick<CheckpointContents, 'models'>): { extra: [string, Uint8Array][]; state: string | undefined } {
  const models = Object.keys(contents.models ?? {});
  if (models.length === 0) throw new ConfigError(`${what}: give at least one model (models: { policy: model })`);
  const stores = Object.entries(contents.parameters ?? {});
  for (const name of [...models, ...Object.keys(contents.optimizers ?? {}), ...stores.map(([name]) => name)]) {
    if (!NAME.test(name)) throw new ConfigError(`${what}: the name ${JSON.stringify(name)} is not usable as a folder or tensor prefix; use letters, digits, _ and -`);
  }
  for (const [name, store] of stores) {
    if (RESERVED.has(parametersFile(name))) throw new ConfigError(`${what}: the parameters ${name} would be saved as ${parametersFile(name)}, a file the checkpoint writes itself; give them another name`);
    if (store.frozen) throw new ConfigError(`${what}: the parameters ${name} are stored in ${store.dtype}, which makes them frozen: nothing to checkpoint; leave them out of parameters`);
  }
  const extra = extraFileEntries(contents.extraFiles);
  const taken = new Set([...RESERVED, ...models.slice(1), ...stores.map(([name]) => parametersFile(name))]);
  for (const [name, bytes] of extra) {
    if (!FILE_NAME.test(name) || name.endsWith('.tmp') || taken.has(name)) {
      throw new ConfigError(
        `${what}: cannot add the extra file ${JSON.stringify(name)}: ${taken.has(name) ? 'the checkpoint writes that name itself' : 'use a plain file name (letters, digits, _ . -; no folders, no .tmp)'}`,
      );
    }
    if (!(bytes instanceof Uint8Array)) throw new ConfigError(`${what}: the extra file ${name} must be a Uint8Array, got ${Object.prototype.toString.call(bytes)}`);
  }
  let state: string | undefined;
  try {
    state = contents.state === undefined ? undefined : JSON.stringify(contents.state);
  } catch (e) {
    throw new ConfigError(`${what}: the trainer state is not JSON-serialisable (${e instanceof Error ? e.message : String(e)}); keep it to numbers, strings, arrays and plain objects`);
  }
  return { extra, state };
}

async function writeModels(storage: RunStorage, dir: string, models: Record<string, CausalLM>, extra: [string, Uint8Array][], pause: () => Promise<void>): Promise<void> {
  for (const [name, folder] of modelFolders(models)) await saveModel(models[name]!, storageFolder(storage, within(dir, folder), pause));
  for (const [name, bytes] of extra) {
    await storage.write(`${dir}/${name}`, bytes);
    await pause();
  }
}

/**
 * Writes the model folders and extra files of `contents` into `dir` (final/: no optimizer,
 * no trainer state), sleeping `pause` after each file (the testing knob).
 */
export async function writeModelFiles(storage: RunStorage, dir: string, contents: Pick<CheckpointContents, 'models' | 'extraFiles'>, pause: () => Promise<void>): Promise<void> {
  const { extra } = checkContents(`saving ${dir}`, contents);
  await writeModels(storage, dir, contents.models, extra, pause);
}

/** Writes every file of a checkpoint into `dir`, trainer_state.json last. */
export async function writeCheckpointFiles(storage: RunStorage, dir: string, step: number, contents: CheckpointContents, pause: () => Promise<void>): Promise<void> {
  const { extra, state } = checkContents(`saving ${checkpointName(step)}`, contents);
  await writeModels(storage, dir, contents.models, extra, pause);
  const optimizers = Object.entries(contents.optimizers ?? {});
  if (optimizers.length) {
    const tensors: { name: string; shape: number[]; data: Float32Array }[] = [];
    const metadata: Record<string, string> = { format: 'pt' };
    for (const [name, optimizer] of optimizers) {
      const moments = await optimizer.model.backend.read(optimizer.state);
      const P = moments.length / 2;
      tensors.push({ name: `${name}.exp_avg`, shape: [P], data: moments.subarray(0, P) });
      tensors.push({ name: `${name}.exp_avg_sq`, shape: [P], data: moments.subarray(P) });
      metadata[`${name}.step`] = String(optimizer.step);
      metadata[`${name}.config`] = JSON.stringify(optimizer.config);
    }
    await storage.write(`${dir}/${OPTIMIZER_FILE}`, serializeSafetensors(tensors, metadata));
    await pause();
  }
  const stores = Object.entries(contents.parameters ?? {});
  for (const [name, store] of stores) {
    const tensors = [...(await store.readParameters())].map(([tensor, data]) => ({ name: tensor, shape: [...store.layout.byName.get(tensor)!.shape], data }));
    await storage.write(`${dir}/${parametersFile(name)}`, serializeSafetensors(tensors, { format: 'pt' }));
    await pause();
  }
  const file: TrainerStateFile = {
    format: FORMAT,
    version: VERSION,
    global_step: step,
    models: Object.fromEntries(modelFolders(contents.models)),
    optimizers: optimizers.map(([name]) => name),
    ...(stores.length ? { parameters: stores.map(([name]) => name) } : {}),
    extra_files: extra.map(([name]) => name),
    ...(state === undefined ? {} : { state: JSON.parse(state) as unknown }),
  };
  await storage.write(`${dir}/${TRAINER_STATE_FILE}`, json(file));
  await pause();
}

// ---------------------------------------------------------------------------------------------
// Restore

const RESUME_FIX = 'resume with the same model_name_or_path (and model settings) as the run that wrote it, or start a new output_dir';

/** Names a head tensor's head, for messages. */
function partOf(tensor: string): string {
  if (tensor.startsWith('score.')) return 'the score head of a reward model';
  if (tensor.startsWith('v_head.')) return 'the value head';
  return 'the transformer';
}

async function readTrainerState(storage: RunStorage, checkpoint: Checkpoint): Promise<TrainerStateFile> {
  const file = `${checkpoint.name}/${TRAINER_STATE_FILE}`;
  const bytes = await storage.read(file);
  const broken = (problem: string) =>
    new CheckpointError(`${checkpoint.location}: ${TRAINER_STATE_FILE} ${problem}; resume from an earlier checkpoint (delete this one) or start a new output_dir`, { file });
  if (!bytes) throw broken('is missing, so the checkpoint is incomplete');
  let parsed: TrainerStateFile;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes)) as TrainerStateFile;
  } catch (e) {
    throw broken(`is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (parsed?.format !== FORMAT || typeof parsed.models !== 'object' || !Array.isArray(parsed.optimizers)) {
    throw broken(`was not written by webrlhf (no "format": "${FORMAT}")`);
  }
  if (parsed.version > VERSION) throw broken(`has version ${parsed.version}; this webrlhf reads version ${VERSION}: update webrlhf`);
  for (const folder of Object.values(parsed.models)) {
    if (folder !== '.' && !NAME.test(folder)) throw broken(`names the model folder ${JSON.stringify(folder)}, which is not a subfolder name`);
  }
  return parsed;
}

/** The host copy of a model's parameters in its layout, after checking every tensor of the checkpoint against it. */
async function checkedParameters(storage: RunStorage, checkpoint: Checkpoint, name: string, folder: string, model: CausalLM): Promise<Float32Array> {
  const dir = within(checkpoint.name, folder);
  if (model.adapter) return checkedAdapter(storage, checkpoint, name, dir, model);
  const saved = await loadModelFolder(storageFolder(storage, dir));
  const file = `${dir}/${WEIGHTS_FILE}`;
  const what = `${checkpoint.location}: its ${name} model`;
  const differ = shapeKeys(model.arch).filter(([field]) => saved.arch[field] !== model.arch[field]);
  if (differ.length) {
    const describe = (a: typeof model.arch) => differ.map(([field, key]) => `${key} ${a[field]}`).join(', ');
    const liveShapes = new Map(model.layout.specs.map((s) => [s.name, s.shape]));
    const first = decoderTensors(saved.arch).find((s) => {
      const l = liveShapes.get(s.name);
      return !l || shapeText(l) !== shapeText(s.shape);
    });
    const firstLive = first && liveShapes.get(first.name);
    const tensor = first ? `: ${first.name} is ${shapeText(first.shape)} there${firstLive ? ` and ${shapeText(firstLive)} here` : ' and absent here'}` : '';
    throw new CheckpointError(
      `${what} was written by a model with ${describe(saved.arch)}; the model being resumed has ${describe(model.arch)}${tensor}. ` +
        `This checkpoint does not fit: ${RESUME_FIX}.`,
      { file: `${dir}/${CONFIG_FILE}`, ...(first ? { tensor: first.name } : {}) },
    );
  }
  const host = new Float32Array(model.layout.total);
  for (const spec of model.layout.specs) {
    const t: SafetensorsTensor | undefined = saved.tensors.get(spec.name);
    if (!t) {
      throw new CheckpointError(
        `${what} lacks ${spec.name} ${shapeText(spec.shape)} (${partOf(spec.name)}), which the model being resumed has. This checkpoint does not fit: ${RESUME_FIX}.`,
        { file, tensor: spec.name },
      );
    }
    if (shapeText(t.shape) !== shapeText(spec.shape)) {
      throw new CheckpointError(
        `${what} has ${spec.name} with shape ${shapeText(t.shape)}, but the model being resumed needs ${shapeText(spec.shape)}. This checkpoint does not fit: ${RESUME_FIX}.`,
        { file, tensor: spec.name },
      );
    }
    host.set(t.data, spec.offset);
  }
  const unused = [...saved.tensors].find(([tensor]) => !model.layout.byName.has(tensor));
  if (unused) {
    const [tensor, t] = unused;
    throw new CheckpointError(
      `${what} has ${tensor} ${shapeText(t.shape)} (${partOf(tensor)}), which the model being resumed lacks. This checkpoint does not fit: ${RESUME_FIX}.`,
      { file, tensor },
    );
  }
  return host;
}

/** checkedParameters for an adapted model: its adapter folder's tensors, checked against the live adapter's layout. */
async function checkedAdapter(storage: RunStorage, checkpoint: Checkpoint, name: string, dir: string, model: CausalLM): Promise<Float32Array> {
  const { tensors } = await readAdapterFolder(storageFolder(storage, dir));
  const file = `${dir}/${ADAPTER_WEIGHTS_FILE}`;
  const what = `${checkpoint.location}: its ${name} adapter`;
  const host = new Float32Array(model.layout.total);
  const seen = new Set<string>();
  for (const [key, t] of tensors) {
    const tensor = adapterTensorName(model, key);
    const spec = model.layout.byName.get(tensor);
    if (!spec || shapeText(spec.shape) !== shapeText(t.shape)) {
      const here = spec ? `needs ${shapeText(spec.shape)}` : 'has no such tensor';
      throw new CheckpointError(`${what} has ${t.name} ${shapeText(t.shape)}; the adapter being resumed ${here}. This checkpoint does not fit: ${RESUME_FIX}.`, { file, tensor: t.name });
    }
    host.set(t.data, spec.offset);
    seen.add(tensor);
  }
  const missing = model.layout.specs.find((s) => !seen.has(s.name));
  if (missing) throw new CheckpointError(`${what} lacks ${missing.name} ${shapeText(missing.shape)}, which the adapter being resumed has. This checkpoint does not fit: ${RESUME_FIX}.`, { file, tensor: missing.name });
  return host;
}

/** The host copy of an optimizer's state [2P] and its step, after checking them against the live optimizer. */
function checkedOptimizer(checkpoint: Checkpoint, tensors: Map<string, SafetensorsTensor> & { metadata: Record<string, string> } | undefined, name: string, optimizer: AdamW): { state: Float32Array; step: number } {
  const file = `${checkpoint.name}/${OPTIMIZER_FILE}`;
  const P = optimizer.state.size / 2;
  const state = new Float32Array(2 * P);
  for (const [part, offset] of [['exp_avg', 0], ['exp_avg_sq', P]] as const) {
    const tensor = `${name}.${part}`;
    const t = tensors?.get(tensor);
    if (!t) {
      throw new CheckpointError(
        `${checkpoint.location} has no ${tensor} in ${OPTIMIZER_FILE}: it holds no state for an optimizer named ${name}. ` +
          'Resume with the same trainer and settings as the run that wrote it, or start a new output_dir.',
        { file, tensor },
      );
    }
    if (t.shape.length !== 1 || t.shape[0] !== P) {
      throw new CheckpointError(
        `${checkpoint.location}: ${tensor} has shape ${shapeText(t.shape)} in ${OPTIMIZER_FILE}, but the optimizer being resumed needs [${P}] ` +
          `(one moment per parameter slot of its model). This checkpoint does not fit: ${RESUME_FIX}.`,
        { file, tensor },
      );
    }
    state.set(t.data, offset);
  }
  const stepText = tensors?.metadata[`${name}.step`];
  const step = Number(stepText);
  if (stepText === undefined || !Number.isSafeInteger(step) || step < 0) {
    throw new CheckpointError(
      `${checkpoint.location}: ${OPTIMIZER_FILE} has no valid step for ${name} (metadata ${name}.step is ${JSON.stringify(stepText)}); resume from an earlier checkpoint or start a new output_dir`,
      { file, tensor: '__metadata__' },
    );
  }
  return { state, step };
}

/** The host copy of a parameter store's buffer, after checking every tensor of its file against the store's layout. */
async function checkedStore(storage: RunStorage, checkpoint: Checkpoint, saved: TrainerStateFile, name: string, store: ParameterStore): Promise<Float32Array> {
  const file = `${checkpoint.name}/${parametersFile(name)}`;
  const bytes = (saved.parameters ?? []).includes(name) ? await storage.read(file) : undefined;
  if (!bytes) {
    throw new CheckpointError(
      `${checkpoint.location} has no parameters named ${name} (it has ${saved.parameters?.join(', ') || 'none'}). ` +
        'Resume with the same trainer and settings as the run that wrote it, or start a new output_dir.',
      { file },
    );
  }
  const tensors = parseSafetensors(bytes, file);
  const host = new Float32Array(store.layout.total);
  for (const spec of store.layout.specs) {
    const t = tensors.get(spec.name);
    if (!t || shapeText(t.shape) !== shapeText(spec.shape)) {
      const there = t ? `has ${spec.name} with shape ${shapeText(t.shape)}` : `lacks ${spec.name}`;
      throw new CheckpointError(`${checkpoint.location}: ${parametersFile(name)} ${there}, but the parameters ${name} being resumed need ${shapeText(spec.shape)}. This checkpoint does not fit: ${RESUME_FIX}.`, {
        file,
        tensor: spec.name,
      });
    }
    host.set(t.data, spec.offset);
  }
  const unused = [...tensors.keys()].find((tensor) => !store.layout.byName.has(tensor));
  if (unused) throw new CheckpointError(`${checkpoint.location}: ${parametersFile(name)} has ${unused}, which the parameters ${name} being resumed lack. This checkpoint does not fit: ${RESUME_FIX}.`, { file, tensor: unused });
  return host;
}

/**
 * Reads a checkpoint into live models and optimizers and returns the trainer's state. Every
 * tensor is checked (config, heads, shapes, optimizer sizes) before the first write to a
 * live object: a checkpoint that does not fit is a CheckpointError and changes nothing.
 */
export async function restoreCheckpoint(storage: RunStorage, checkpoint: Checkpoint, targets: RestoreTargets): Promise<unknown> {
  const saved = await readTrainerState(storage, checkpoint);
  const writes: (() => void)[] = [];
  for (const [name, model] of Object.entries(targets.models ?? {})) {
    const folder = saved.models[name];
    if (folder === undefined) {
      throw new CheckpointError(
        `${checkpoint.location} has no model named ${name} (it has ${Object.keys(saved.models).join(', ') || 'none'}). ` +
          'Resume with the same trainer and settings as the run that wrote it, or start a new output_dir.',
        { file: `${checkpoint.name}/${TRAINER_STATE_FILE}` },
      );
    }
    const host = await checkedParameters(storage, checkpoint, name, folder, model);
    writes.push(() => model.backend.write(model.params, host));
  }
  for (const [name, store] of Object.entries(targets.parameters ?? {})) {
    const host = await checkedStore(storage, checkpoint, saved, name, store);
    writes.push(() => store.backend.write(store.params, host));
  }
  const optimizers = Object.entries(targets.optimizers ?? {});
  if (optimizers.length) {
    const bytes = await storage.read(`${checkpoint.name}/${OPTIMIZER_FILE}`);
    const tensors = bytes ? parseSafetensors(bytes, `${checkpoint.name}/${OPTIMIZER_FILE}`) : undefined;
    for (const [name, optimizer] of optimizers) {
      const { state, step } = checkedOptimizer(checkpoint, tensors, name, optimizer);
      writes.push(() => {
        optimizer.model.backend.write(optimizer.state, state);
        optimizer.step = step;
      });
    }
  }
  for (const apply of writes) apply();
  return saved.state;
}
