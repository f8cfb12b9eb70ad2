// The model a command runs on: a model folder, with a LoRA adapter folder on it when
// --adapter is given (or an adapter folder alone, whose config names its base).
import type { Backend } from '../backend/backend.js';
import { loadModel } from '../io/pretrained_model.js';
import type { CausalLM } from '../nn/causal_lm.js';

export async function loadModelArg(backend: Backend, modelDir: string, adapterDir: string | undefined): Promise<CausalLM> {
  const model = await loadModel(backend, modelDir);
  if (!adapterDir) return model;
  try {
    return await loadModel(backend, adapterDir, { base: model });
  } finally {
    model.dispose(); // the adapted model holds the base's weights
  }
}
