// A Hugging Face model folder as transformers saves it: config.json + model.safetensors (or
// shards listed in model.safetensors.index.json), for every family webrlhf runs. Folders are reached through a small interface, so the
// same code loads from a directory (Node, Deno), a base URL (fetch) or File objects
// (browsers: <input type=file webkitdirectory>, drag and drop).
import { CheckpointError, ConfigError } from '../errors.js';
import { architectureOf, checkModelConfig, checkpointTensorName, configJson, type Architecture, type ModelConfig } from '../nn/architecture.js';
import { decoderTensors } from '../nn/decoder_tensors.js';
import { platform } from '../runtime/platform.js';
import { HAS_SCHEME, locate, pageBase } from './location.js';
import { parseSafetensors, serializeSafetensors, type NamedTensor, type SafetensorsTensor } from './safetensors.js';

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';
export const WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';
export const GENERATION_CONFIG_FILE = 'generation_config.json';

/** Where a folder's files are read from. */
export interface ModelFolderSource {
  /** Names the folder in messages, e.g. "directory ./gpt2" or "https://host/gpt2/". */
  readonly location: string;
  /** A file's bytes, or undefined when the folder has no file of that name. */
  read(name: string): Promise<Uint8Array | undefined>;
}

/** Where a folder's files are written. */
export interface ModelFolderTarget {
  readonly location: string;
  /** Creates the folder when needed (called once before the first write). */
  prepare?(): Promise<void>;
  /** Replaces the file `name` atomically: readers (and a crash) see the old file or the new one. */
  write(name: string, bytes: Uint8Array): Promise<void>;
}

/** What File and Blob-with-a-name objects provide (a File, or one entry of a FileList). */
export interface FileLike {
  name: string;
  /** Set by <input type=file webkitdirectory>: "gpt2/config.json". */
  webkitRelativePath?: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * Where a folder is: a directory path (Node, Deno; in a browser a string is a URL relative to
 * the page), a URL (http(s), blob; file: in Node and Deno), File objects or a FileList, or any
 * ModelFolderSource.
 */
export type ModelFolderLocation = string | URL | ModelFolderSource | Iterable<FileLike> | ArrayLike<FileLike>;

/** Where to save a folder: a directory path or file: URL (Node, Deno), or any ModelFolderTarget. */
export type ModelFolderDestination = string | URL | ModelFolderTarget;

/** A loaded folder. */
export interface ModelFolder {
  config: ModelConfig;
  arch: Architecture;
  /** generation_config.json, parsed, when the folder has one. */
  generationConfig: Record<string, unknown> | undefined;
  /** Tensors by name ("wte.weight", "model.layers.0.self_attn.q_proj.weight", ...), in file order. */
  tensors: Map<string, SafetensorsTensor>;
  /** The safetensors `__metadata__` (of the first shard when sharded). */
  metadata: Record<string, string>;
  /** Tensors present in the files but left out: a tied lm_head.weight, GPT-2's attn.bias/masked_bias and old rotary buffers. */
  ignored: string[];
  /** The folder, for messages. */
  location: string;
}

export interface SaveModelFolderOptions {
  /** Extra `__metadata__` for model.safetensors; `format: 'pt'` is always added (transformers requires it). */
  metadata?: Record<string, string>;
  /** Written as generation_config.json when given (the generation defaults the model was loaded with). */
  generationConfig?: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Folder access

/** `name` (may hold "/") inside directory `dir`: a path or a file: URL. */
export function joinPath(dir: string | URL, name: string): string | URL {
  if (typeof dir !== 'string') return new URL(name, dir.href.endsWith('/') ? dir : new URL(`${dir.href}/`));
  return dir === '' ? name : /[\\/]$/.test(dir) ? dir + name : `${dir}/${name}`;
}

function localFS() {
  const fs = platform().fs;
  if (!fs) {
    throw new ConfigError(
      'this runtime has no filesystem (a browser or Web Worker): load a model folder from a URL (urlFolder) or from File objects ' +
        '(filesFolder, e.g. the FileList of <input type=file webkitdirectory>), and save it with modelFolderFiles() or a ModelFolderTarget of your own',
    );
  }
  return fs;
}

/** A directory on the local filesystem (Node, Deno): a path or a file: URL. Reads and writes. */
export function directoryFolder(path: string | URL): ModelFolderSource & ModelFolderTarget {
  const fs = localFS();
  const location = `directory ${typeof path === 'string' ? path : path.href}`;
  return {
    location,
    read: (name) => fs.readFile(joinPath(path, name)),
    prepare: () => fs.mkdirp(path),
    write: (name, bytes) => fs.writeFileAtomic(joinPath(path, name), bytes),
  };
}

/**
 * A folder served over HTTP(S) (or any URL fetch can read): files are fetched from
 * `new URL(name, base)`; a 404 means the file is absent. Read-only.
 */
export function urlFolder(base: string | URL, options: { fetch?: typeof fetch; init?: RequestInit } = {}): ModelFolderSource {
  const href = typeof base === 'string' ? base : base.href;
  let root: URL;
  try {
    root = new URL(href.endsWith('/') ? href : `${href}/`, pageBase());
  } catch {
    throw new ConfigError(`model folder URL ${JSON.stringify(href)} is not a valid URL`);
  }
  const get = options.fetch ?? globalThis.fetch.bind(globalThis);
  return {
    location: root.href,
    async read(name) {
      const url = new URL(name, root);
      const response = await get(url, options.init);
      if (response.status === 404 || response.status === 410) return undefined;
      if (!response.ok) {
        throw new CheckpointError(`${name}: fetching ${url.href} failed with HTTP ${response.status} ${response.statusText}`, { file: name });
      }
      return new Uint8Array(await response.arrayBuffer());
    },
  };
}

/**
 * A folder given as File objects (a FileList from <input type=file webkitdirectory> or
 * multiple, a drop, or File objects made in code). Files are matched by name; when a
 * directory pick holds several files of one name, the least nested one wins. Read-only.
 */
export function filesFolder(files: Iterable<FileLike> | ArrayLike<FileLike>): ModelFolderSource {
  const list: FileLike[] = Symbol.iterator in Object(files) ? [...(files as Iterable<FileLike>)] : Array.from(files as ArrayLike<FileLike>);
  const depth = (f: FileLike) => (f.webkitRelativePath || f.name).split('/').length;
  const byName = new Map<string, FileLike>();
  for (const f of list) {
    if (!f || typeof f.name !== 'string' || typeof f.arrayBuffer !== 'function') {
      throw new ConfigError(`filesFolder: expected File objects, got ${Object.prototype.toString.call(f)}`);
    }
    const have = byName.get(f.name);
    if (!have || depth(f) < depth(have)) byName.set(f.name, f);
  }
  const names = [...byName.keys()];
  return {
    location: `files [${names.slice(0, 6).join(', ')}${names.length > 6 ? ', ...' : ''}]`,
    async read(name) {
      const f = byName.get(name);
      return f ? new Uint8Array(await f.arrayBuffer()) : undefined;
    },
  };
}

/** A folder in memory: `files` maps names to bytes. Reads and writes; useful in browsers and tests. */
export function memoryFolder(files: Map<string, Uint8Array> = new Map()): ModelFolderSource & ModelFolderTarget & { files: Map<string, Uint8Array> } {
  return {
    location: 'memory',
    files,
    read: async (name) => files.get(name),
    write: async (name, bytes) => void files.set(name, bytes),
  };
}

function isSource(v: unknown): v is ModelFolderSource {
  return typeof v === 'object' && v !== null && typeof (v as ModelFolderSource).read === 'function';
}

function isTarget(v: unknown): v is ModelFolderTarget {
  return typeof v === 'object' && v !== null && typeof (v as ModelFolderTarget).write === 'function';
}

/** The ModelFolderSource for a location (see ModelFolderLocation). */
export function resolveFolderSource(where: ModelFolderLocation): ModelFolderSource {
  if (isSource(where)) return where;
  if (typeof where === 'string' || where instanceof URL) {
    const at = locate(where);
    return at.kind === 'file' ? directoryFolder(at.path) : urlFolder(at.href);
  }
  if (typeof where === 'object' && where !== null) return filesFolder(where as Iterable<FileLike> | ArrayLike<FileLike>);
  throw new ConfigError(`a model folder is a directory path, a URL, File objects or a ModelFolderSource; got ${Object.prototype.toString.call(where)}`);
}

/** The ModelFolderTarget for a destination (see ModelFolderDestination). */
export function resolveFolderTarget(where: ModelFolderDestination): ModelFolderTarget {
  if (isTarget(where)) return where;
  if (typeof where === 'string' || where instanceof URL) {
    const href = typeof where === 'string' ? where : where.href;
    if (href.startsWith('file:')) return directoryFolder(typeof where === 'string' ? new URL(where) : where);
    if (HAS_SCHEME.test(href)) throw new ConfigError(`cannot save a model folder to ${href}: save to a directory path, or pass a ModelFolderTarget`);
    return directoryFolder(href);
  }
  throw new ConfigError(`a model folder destination is a directory path or a ModelFolderTarget; got ${Object.prototype.toString.call(where)}`);
}

// ---------------------------------------------------------------------------------------------
// config.json

/** A JSON object file's bytes parsed, or a CheckpointError naming the file. */
export function parseJsonObject(bytes: Uint8Array, file: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new CheckpointError(`${file} is not valid JSON (${e instanceof Error ? e.message : String(e)}); fix or replace it`, { file });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CheckpointError(`${file}: it is ${Array.isArray(raw) ? 'an array' : String(raw)}, not a JSON object`, { file });
  return raw as Record<string, unknown>;
}

/** Parses and checks config.json (text, bytes or an already parsed object). Throws CheckpointError. */
export function parseModelConfig(json: string | Uint8Array | object, file = CONFIG_FILE): ModelConfig {
  const raw = typeof json === 'string' ? parseJsonObject(new TextEncoder().encode(json), file) : json instanceof Uint8Array ? parseJsonObject(json, file) : json;
  return checkModelConfig(raw, (problem) => new CheckpointError(`${file}: ${problem}. Fix ${file} or use the one saved with the weights.`, { file }));
}

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

/**
 * The data of tensor `name`, after checking it exists with exactly `shape`. Throws
 * CheckpointError naming the tensor, both shapes, the file and (`because`) the config keys
 * the expected shape comes from.
 */
export function expectTensor(
  tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>,
  name: string,
  shape: readonly number[],
  file = WEIGHTS_FILE,
  because?: string,
): Float32Array {
  const why = because ? ` (${because})` : '';
  const t = tensors.get(name);
  if (!t) {
    const near = [...tensors.keys()].filter((k) => k.endsWith(name) || name.endsWith(k)).slice(0, 3);
    const hint = near.length ? ` It has ${near.join(', ')}: are the names prefixed differently?` : ` It has ${tensors.size} tensors${tensors.size ? `, e.g. ${[...tensors.keys()].slice(0, 3).join(', ')}` : ''}.`;
    throw new CheckpointError(
      `${name} is missing from ${file}; config.json${why} needs it with shape ${shapeText(shape)}.${hint} Use the weights saved with this config.json.`,
      { tensor: name, file },
    );
  }
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new CheckpointError(
      `${name} has shape ${shapeText(t.shape)} in ${file}, but config.json${why} needs ${shapeText(shape)}: ` +
        'the weights and config.json do not belong together. Use the config.json saved with these weights, or fix it.',
      { tensor: name, file },
    );
  }
  return t.data;
}

/**
 * Checks every tensor a model of this config needs (decoderTensors) with expectTensor. Returns
 * the names of tensors the model does not use (extra heads, layers beyond the config's), for
 * the caller to judge.
 */
export function expectModelTensors(
  config: ModelConfig,
  tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>,
  file = WEIGHTS_FILE,
): string[] {
  const specs = decoderTensors(architectureOf(config));
  for (const s of specs) expectTensor(tensors, s.name, s.shape, file, s.because);
  const known = new Set(specs.map((s) => s.name));
  return [...tensors.keys()].filter((k) => !known.has(k));
}

// ---------------------------------------------------------------------------------------------
// Save and load

function encodeConfig(config: ModelConfig): Uint8Array {
  const checked = checkModelConfig(config, (problem) => new ConfigError(`model config: ${problem}`));
  return new TextEncoder().encode(`${JSON.stringify(configJson(checked), null, 2)}\n`);
}

/**
 * The bytes of a model folder's two files, without writing anything (browsers: offer them
 * as downloads, or write them to OPFS). Tensors are written as F32 in the given order.
 */
export function modelFolderFiles(
  config: ModelConfig,
  tensors: readonly NamedTensor[] | ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>,
  options: SaveModelFolderOptions = {},
): { [CONFIG_FILE]: Uint8Array; [WEIGHTS_FILE]: Uint8Array; [GENERATION_CONFIG_FILE]?: Uint8Array } {
  const configBytes = encodeConfig(config);
  const weights = serializeSafetensors(tensors, { ...options.metadata, format: 'pt' });
  const generation = options.generationConfig && new TextEncoder().encode(`${JSON.stringify(options.generationConfig, null, 2)}\n`);
  return { [CONFIG_FILE]: configBytes, [WEIGHTS_FILE]: weights, ...(generation ? { [GENERATION_CONFIG_FILE]: generation } : {}) };
}

/**
 * Saves a model folder: model.safetensors, then config.json, each written atomically (a .tmp
 * renamed into place), so a crash leaves every file whole (old or new). Everything is
 * checked and serialized before the first byte is written. `where` is a directory (created
 * when missing) in Node and Deno, or any ModelFolderTarget.
 */
export async function saveModelFolder(
  where: ModelFolderDestination,
  config: ModelConfig,
  tensors: readonly NamedTensor[] | ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>,
  options: SaveModelFolderOptions = {},
): Promise<void> {
  const files = modelFolderFiles(config, tensors, options);
  const target = resolveFolderTarget(where);
  const fail = (name: string, e: unknown): CheckpointError =>
    new CheckpointError(`could not write ${name} to ${target.location}: ${e instanceof Error ? e.message : String(e)}`, { file: name }, { cause: e });
  try {
    await target.prepare?.();
  } catch (e) {
    throw fail(WEIGHTS_FILE, e);
  }
  // config.json last: a folder is loadable only once its weights are whole.
  for (const name of [WEIGHTS_FILE, GENERATION_CONFIG_FILE, CONFIG_FILE] as const) {
    const bytes = files[name];
    if (!bytes) continue;
    try {
      await target.write(name, bytes);
    } catch (e) {
      throw fail(name, e);
    }
  }
}

/** Runs `fn`; a CheckpointError it throws gets the folder's location appended to its message. */
function inFolder<T>(source: ModelFolderSource, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    const where: { tensor?: string; file?: string } = {};
    if (e.tensor !== undefined) where.tensor = e.tensor;
    if (e.file !== undefined) where.file = e.file;
    throw new CheckpointError(`${e.message} (model folder: ${source.location})`, where, { cause: e });
  }
}

export async function readFolderFile(source: ModelFolderSource, name: string): Promise<Uint8Array | undefined> {
  try {
    return await source.read(name);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`could not read ${name} from ${source.location}: ${e instanceof Error ? e.message : String(e)}`, { file: name }, { cause: e });
  }
}

/**
 * Loads a model folder: config.json (checked) and model.safetensors, or the shards listed in
 * model.safetensors.index.json. Names lose GPT2LMHeadModel's "transformer." prefix; a tied
 * lm_head.weight and buffers are left out (listed in `ignored`; checkpointTensorName). Shapes
 * are not checked against the config here: see expectModelTensors / expectTensor.
 */
export async function loadModelFolder(where: ModelFolderLocation): Promise<ModelFolder> {
  const source = resolveFolderSource(where);
  const configBytes = await readFolderFile(source, CONFIG_FILE);
  if (!configBytes) {
    throw new CheckpointError(`config.json not found in ${source.location}: a model folder holds config.json and model.safetensors`, { file: CONFIG_FILE });
  }
  const config = inFolder(source, () => parseModelConfig(configBytes));
  const arch = architectureOf(config);
  const generationBytes = await readFolderFile(source, GENERATION_CONFIG_FILE);
  const generationConfig = generationBytes ? inFolder(source, () => parseJsonObject(generationBytes, GENERATION_CONFIG_FILE)) : undefined;
  const rename = (raw: string) => checkpointTensorName(arch, raw);

  let shards: string[] = [WEIGHTS_FILE];
  let indexNames: string[] | undefined;
  let first = await readFolderFile(source, WEIGHTS_FILE);
  if (!first) {
    const index = await readFolderFile(source, WEIGHTS_INDEX_FILE);
    if (!index) {
      throw new CheckpointError(
        `model.safetensors not found in ${source.location} (nor ${WEIGHTS_INDEX_FILE}). webrlhf reads safetensors only: ` +
          'convert a pytorch_model.bin with transformers (model.save_pretrained(dir, safe_serialization=True)).',
        { file: WEIGHTS_FILE },
      );
    }
    let map: unknown;
    try {
      map = (JSON.parse(new TextDecoder().decode(index)) as { weight_map?: unknown }).weight_map;
    } catch (e) {
      throw new CheckpointError(`${WEIGHTS_INDEX_FILE} is not valid JSON (${e instanceof Error ? e.message : String(e)})`, { file: WEIGHTS_INDEX_FILE });
    }
    if (typeof map !== 'object' || map === null || !Object.values(map).every((v) => typeof v === 'string' && v !== '' && !/[\\/]|^\.\.?$/.test(v))) {
      throw new CheckpointError(`${WEIGHTS_INDEX_FILE}: weight_map must map tensor names to shard file names in the folder`, { file: WEIGHTS_INDEX_FILE });
    }
    indexNames = Object.keys(map);
    shards = [...new Set(Object.values(map as Record<string, string>))];
    first = undefined;
  }

  const tensors = new Map<string, SafetensorsTensor>();
  const origin = new Map<string, string>();
  const ignored: string[] = [];
  let metadata: Record<string, string> | undefined;
  for (const shard of shards) {
    const bytes = first ?? (await readFolderFile(source, shard));
    first = undefined;
    if (!bytes) throw new CheckpointError(`${shard} not found in ${source.location}, but ${WEIGHTS_INDEX_FILE} lists it`, { file: shard });
    const parsed = inFolder(source, () => parseSafetensors(bytes, shard, { skip: (n) => rename(n).ignore }));
    metadata ??= parsed.metadata;
    ignored.push(...parsed.skipped);
    for (const [raw, t] of parsed) {
      const { name } = rename(raw);
      const before = origin.get(name);
      if (before !== undefined) {
        throw new CheckpointError(`${raw} in ${shard} and ${before} both name the tensor ${name}: keep one of them`, { tensor: name, file: shard });
      }
      origin.set(name, shard === WEIGHTS_FILE ? raw : `${raw} in ${shard}`);
      tensors.set(name, t);
    }
  }
  if (indexNames) {
    const missing = indexNames.filter((n) => !tensors.has(rename(n).name) && !rename(n).ignore);
    if (missing.length) {
      throw new CheckpointError(`${WEIGHTS_INDEX_FILE} lists ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''} but its shard lacks them`, { tensor: missing[0]!, file: WEIGHTS_INDEX_FILE });
    }
  }
  return { config, arch, generationConfig, tensors, metadata: metadata ?? {}, ignored, location: source.location };
}
