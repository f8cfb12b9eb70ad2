import type { Backend } from '../backend/backend.js';
import { CheckpointError, ConfigError } from '../errors.js';
import { configJson, gptConfig } from '../nn/config.js';
import { GPT } from '../nn/gpt.js';
import type { HeadOptions } from '../nn/layout.js';
import {
  expectGPT2Tensors, expectTensor, loadModelFolder, saveModelFolder, WEIGHTS_FILE,
  type GPT2Config, type ModelFolderDestination, type ModelFolderLocation, type SaveModelFolderOptions,
} from './model_folder.js';

export interface LoadGPTOptions {
  /**
   * Heads to create. Default: the heads whose tensors the folder has. A head asked for but
   * absent from the folder starts at zero (a new reward or value head, as the spec says).
   */
  heads?: HeadOptions;
}

/** Names of the optional heads' tensors. */
const HEAD_TENSORS = { score: ['score.weight', 'score.bias'], value: ['v_head.summary.weight', 'v_head.summary.bias'] } as const;

/**
 * Loads a Hugging Face-style GPT-2 folder (config.json + model.safetensors) onto a backend.
 * Shapes are checked against config.json; a mismatch is a CheckpointError naming the tensor.
 */
export async function loadGPT(backend: Backend, where: ModelFolderLocation, options: LoadGPTOptions = {}): Promise<GPT> {
  const folder = await loadModelFolder(where);
  if (folder.config.n_inner != null && folder.config.n_inner !== 4 * folder.config.n_embd) {
    throw new ConfigError(`${folder.location}: n_inner = ${folder.config.n_inner}; webrlhf's GPT-2 has an MLP of width 4·n_embd (${4 * folder.config.n_embd})`);
  }
  const config = gptConfig(folder.config);
  const file = `${folder.location}/${WEIGHTS_FILE}`;
  const extra = new Set(expectGPT2Tensors(folder.config, folder.tensors, file));
  const unknown = [...extra].filter((name) => !Object.values(HEAD_TENSORS).some((names) => (names as readonly string[]).includes(name)));
  if (unknown.length) {
    throw new CheckpointError(
      `${file} has tensors that config.json (n_layer ${config.n_layer}) does not account for: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', ...' : ''}; ` +
      'check that config.json belongs to these weights',
      { tensor: unknown[0]!, file },
    );
  }
  const heads: HeadOptions = options.heads ?? { score: extra.has('score.weight'), value: extra.has('v_head.summary.weight') };
  for (const head of ['score', 'value'] as const) {
    const [weight, bias] = HEAD_TENSORS[head];
    if (heads[head] && extra.has(weight) !== extra.has(bias)) {
      throw new CheckpointError(`${file} has ${extra.has(weight) ? weight : bias} but not ${extra.has(weight) ? bias : weight}; a ${head} head needs both`, { tensor: weight, file });
    }
  }
  return GPT.fromWeights(backend, config, (spec) => {
    if (!folder.tensors.has(spec.name)) return undefined; // a new head
    return expectTensor(folder.tensors, spec.name, spec.shape, file);
  }, { heads });
}

/** Writes a model as a Hugging Face-style folder, atomically file by file. */
export async function saveGPT(model: GPT, where: ModelFolderDestination, options: SaveModelFolderOptions = {}): Promise<void> {
  const params = await model.readParameters();
  const tensors = model.layout.specs.map((s) => ({ name: s.name, shape: s.shape, data: params.get(s.name)! }));
  await saveModelFolder(where, configJson(model.config) as GPT2Config, tensors, options);
}
