import type { Backend } from '../backend/backend.js';
import { CheckpointError } from '../errors.js';
import { configJson, gpt2TensorShapes, gptConfig } from '../nn/config.js';
import { GPT } from '../nn/gpt.js';
import { parameterLayout, type HeadOptions } from '../nn/layout.js';
import {
  expectTensor, loadModelFolder, saveModelFolder, WEIGHTS_FILE,
  type ModelFolderDestination, type ModelFolderLocation, type SaveModelFolderOptions,
} from './model_folder.js';

export interface LoadGPTOptions {
  /**
   * Heads to create. Default: the heads whose tensors the folder has. A head asked for but
   * absent from the folder starts at zero (a new reward or value head, as the spec says).
   */
  heads?: HeadOptions;
}

/** Tensors of the optional heads, by head. */
const HEAD_TENSORS = { score: ['score.weight', 'score.bias'], value: ['v_head.summary.weight', 'v_head.summary.bias'] } as const;
const isHeadTensor = (name: string) => Object.values(HEAD_TENSORS).some((names) => (names as readonly string[]).includes(name));

/**
 * Loads a Hugging Face-style GPT-2 folder (config.json + model.safetensors) onto a backend.
 * Every tensor is checked against the shape config.json gives it; a missing, misshapen or
 * unaccounted-for tensor is a CheckpointError naming it.
 */
export async function loadGPT(backend: Backend, where: ModelFolderLocation, options: LoadGPTOptions = {}): Promise<GPT> {
  const folder = await loadModelFolder(where);
  const config = gptConfig(folder.config);
  const file = `${folder.location}/${WEIGHTS_FILE}`;
  const has = (name: string) => folder.tensors.has(name);
  const heads: HeadOptions = options.heads ?? { score: has('score.weight'), value: has('v_head.summary.weight') };
  for (const head of ['score', 'value'] as const) {
    const [weight, bias] = HEAD_TENSORS[head];
    if (heads[head] && has(weight) !== has(bias)) {
      throw new CheckpointError(`${file} has ${has(weight) ? weight : bias} but not ${has(weight) ? bias : weight}; a ${head} head needs both`, { tensor: weight, file });
    }
  }
  const layout = parameterLayout(config, heads);
  const unknown = [...folder.tensors.keys()].filter((name) => !layout.byName.has(name) && !isHeadTensor(name));
  if (unknown.length) {
    throw new CheckpointError(
      `${file} has tensors that config.json (n_layer ${config.n_layer}) does not account for: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', ...' : ''}; ` +
      'check that config.json belongs to these weights',
      { tensor: unknown[0]!, file },
    );
  }
  // Core tensors must be there (expectTensor throws when one is missing); a head's may not be (a new head).
  const because = new Map(gpt2TensorShapes(config).map((t) => [t.name, t.because]));
  return GPT.fromWeights(backend, config, (spec) => {
    if (isHeadTensor(spec.name) && !has(spec.name)) return undefined;
    return expectTensor(folder.tensors, spec.name, spec.shape, file, because.get(spec.name) ?? `n_embd ${config.n_embd}`);
  }, { heads });
}

/** Writes a model as a Hugging Face-style folder, atomically file by file. */
export async function saveGPT(model: GPT, where: ModelFolderDestination, options: SaveModelFolderOptions = {}): Promise<void> {
  const params = await model.readParameters();
  const tensors = model.layout.specs.map((s) => ({ name: s.name, shape: s.shape, data: params.get(s.name)! }));
  await saveModelFolder(where, configJson(model.config), tensors, options);
}
