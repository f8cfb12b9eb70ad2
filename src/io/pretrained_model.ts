// A model of any supported family from a Hugging Face folder as transformers saves it, and
// back: weights checked against config.json by name and shape.
import type { Backend } from '../backend/backend.js';
import type { DType } from '../backend/dtype.js';
import { CheckpointError } from '../errors.js';
import { shapeKeys } from '../nn/architecture.js';
import { CausalLM, type ModelOptions } from '../nn/causal_lm.js';
import { decoderTensors } from '../nn/decoder_tensors.js';
import { HEAD_TENSORS, parameterLayout, type HeadOptions } from '../nn/layout.js';
import { ADAPTER_CONFIG_FILE, loadAdapter, readAdapterFolder, saveAdapter } from './peft_adapter.js';
import {
  CONFIG_FILE, expectTensor, loadModelFolder, readFolderFile, resolveFolderSource, saveModelFolder, WEIGHTS_FILE, type ModelFolderSource,
  type ModelFolderDestination, type ModelFolderLocation, type SaveModelFolderOptions,
} from './model_folder.js';

export interface LoadModelOptions extends Pick<ModelOptions, 'gradientCheckpointing' | 'logitsChunkRows'> {
  /**
   * Heads to create. Default: the heads whose tensors the folder has. A head asked for but
   * absent from the folder starts at zero (a new reward or value head, as the spec says).
   */
  heads?: HeadOptions;
  /**
   * For a LoRA adapter folder (adapter_config.json, no config.json): the base to adapt, whose
   * weights the returned model shares. Default: the folder adapter_config.json's
   * base_model_name_or_path names, loaded for it.
   */
  base?: CausalLM;
  /**
   * How the weight matrices and embeddings are stored on the device (default 'f32'); 'bf16' or
   * 'f16' halve their memory and load a frozen model (see ModelOptions.dtype).
   */
  dtype?: DType;
}

const isHeadTensor = (name: string) => Object.values(HEAD_TENSORS).some((names) => (names as readonly string[]).includes(name));

/**
 * Loads a Hugging Face model folder (config.json + model.safetensors or its shards) onto a
 * backend: GPT2LMHeadModel, LlamaForCausalLM, Qwen2ForCausalLM or Qwen3ForCausalLM, with
 * F32, F16 or BF16 weights (held as f32, or with options.dtype as bf16/f16 matrices). Every tensor is checked against the shape
 * config.json gives it; a missing, misshapen or unaccounted-for tensor is a CheckpointError
 * naming it; an unsupported architecture is a CheckpointError naming the supported ones. The
 * folder's generation_config.json becomes the model's generation defaults.
 */
export async function loadModel(backend: Backend, where: ModelFolderLocation, options: LoadModelOptions = {}): Promise<CausalLM> {
  const source = resolveFolderSource(where);
  if (!(await readFolderFile(source, CONFIG_FILE)) && (await readFolderFile(source, ADAPTER_CONFIG_FILE))) return loadAdapterFolder(backend, source, options);
  const folder = await loadModelFolder(source);
  const { config, arch } = folder;
  const file = `${folder.location}/${WEIGHTS_FILE}`;
  const has = (name: string) => folder.tensors.has(name);
  const heads: HeadOptions = options.heads ?? { score: has('score.weight'), value: has('v_head.summary.weight') };
  for (const head of ['score', 'value'] as const) {
    const [weight, bias] = HEAD_TENSORS[head];
    if (heads[head] && has(weight) !== has(bias)) {
      throw new CheckpointError(`${file} has ${has(weight) ? weight : bias} but not ${has(weight) ? bias : weight}; a ${head} head needs both`, { tensor: weight, file });
    }
  }
  const layout = parameterLayout(arch, heads);
  const layersKey = shapeKeys(arch).find(([field]) => field === 'layers')![1];
  const unknown = [...folder.tensors.keys()].filter((name) => !layout.byName.has(name) && !isHeadTensor(name));
  if (unknown.length) {
    throw new CheckpointError(
      `${file} has tensors that config.json (${arch.className}, ${layersKey} ${arch.layers}) does not account for: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', ...' : ''}; ` +
      'check that config.json belongs to these weights',
      { tensor: unknown[0]!, file },
    );
  }
  // Core tensors must be there (expectTensor throws when one is missing); a head's may not be (a new head).
  const because = new Map(decoderTensors(arch).map((t) => [t.name, t.because]));
  return CausalLM.fromWeights(backend, config, (spec) => {
    if (isHeadTensor(spec.name) && !has(spec.name)) return undefined;
    return expectTensor(folder.tensors, spec.name, spec.shape, file, because.get(spec.name) ?? `hidden size ${arch.hiddenSize}`);
  }, {
    heads,
    ...(options.dtype ? { dtype: options.dtype } : {}),
    gradientCheckpointing: options.gradientCheckpointing,
    logitsChunkRows: options.logitsChunkRows,
    ...(folder.generationConfig ? { generationConfig: folder.generationConfig } : {}),
  });
}

/**
 * Writes a model as a Hugging Face folder that transformers loads (with its
 * generation_config.json), atomically file by file. An adapted model writes its adapter as
 * PEFT does (saveAdapter); `await model.merged()` gives the whole model to save.
 */
export async function saveModel(model: CausalLM, where: ModelFolderDestination, options: SaveModelFolderOptions = {}): Promise<void> {
  if (model.adapter) return saveAdapter(model, where);
  const params = await model.readParameters();
  const tensors = model.layout.specs.map((s) => ({ name: s.name, shape: s.shape, data: params.get(s.name)! }));
  const generationConfig = options.generationConfig ?? model.generationConfig;
  await saveModelFolder(where, model.config, tensors, { ...options, ...(generationConfig ? { generationConfig } : {}) });
}

/** An adapter folder's model: the adapter on `base`, or on the base its config names (loaded here, shared with the result only). */
async function loadAdapterFolder(backend: Backend, source: ModelFolderSource, options: LoadModelOptions): Promise<CausalLM> {
  if (options.base) return loadAdapter(options.base, source);
  const { raw } = await readAdapterFolder(source);
  const named = raw.base_model_name_or_path;
  if (typeof named !== 'string' || !named) {
    throw new CheckpointError(`${source.location} is a LoRA adapter whose ${ADAPTER_CONFIG_FILE} names no base_model_name_or_path; load its base and pass it as { base }`, { file: ADAPTER_CONFIG_FILE });
  }
  let own: CausalLM;
  try {
    own = await loadModel(backend, named, options.dtype ? { dtype: options.dtype } : {});
  } catch (e) {
    throw new CheckpointError(`${source.location} is a LoRA adapter of ${named}, which did not load (${e instanceof Error ? e.message : String(e)}); load its base and pass it as { base }`, { file: ADAPTER_CONFIG_FILE }, { cause: e });
  }
  try {
    return await loadAdapter(own, source);
  } finally {
    own.dispose(); // the adapted model holds the weights now
  }
}
