// A LoRA adapter folder as PEFT saves it: adapter_config.json + adapter_model.safetensors,
// tensors named base_model.model.<module>.lora_A.weight [r, in] and .lora_B.weight [out, r],
// and the modules trained in full under base_model.model.<module>.weight. An adapter trained
// here loads in PEFT onto the same base, and one trained with PEFT loads here.
import { CheckpointError, ConfigError } from '../errors.js';
import { checkpointTensorName } from '../nn/architecture.js';
import type { CausalLM } from '../nn/causal_lm.js';
import type { HeadOptions } from '../nn/layout.js';
import { adapterPlan, HEAD_TENSORS } from '../nn/lora/lora_adapter.js';
import { adapterConfigJson, loraConfig, type LoraConfig } from '../nn/lora/lora_config.js';
import { transformersName } from '../nn/lora/lora_targets.js';
import {
  parseJsonObject, readFolderFile, resolveFolderSource, resolveFolderTarget,
  type ModelFolderDestination, type ModelFolderLocation,
} from './model_folder.js';
import { parseSafetensors, serializeSafetensors, type NamedTensor } from './safetensors.js';

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';
/** PEFT's prefix on every tensor name in an adapter file. */
const PREFIX = 'base_model.model.';

/** Modules PEFT adds to modules_to_save for SEQ_CLS whatever the model has; a model without one has nothing to save. */
const PEFT_CLASSIFIER_NAMES = ['classifier'];

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

/** The name an adapter tensor has in PEFT's file: lora pairs are named by module already; the rest by transformers' name. */
export function peftTensorName(model: Pick<CausalLM, 'arch'>, name: string): string {
  return PREFIX + (/\.lora_[AB]\.weight$/.test(name) ? name : transformersName(model.arch, name));
}

/** webrlhf's name for an adapter file's tensor (without PEFT's prefix): lora pairs keep theirs; the rest lose GPT-2's transformer. prefix. */
export function adapterTensorName(model: Pick<CausalLM, 'arch'>, key: string): string {
  return /\.lora_[AB]\.weight$/.test(key) ? key : checkpointTensorName(model.arch, key).name;
}

/** An adapter folder's config and tensors, read and parsed (not yet checked against a model). */
export async function readAdapterFolder(where: ModelFolderLocation): Promise<{ config: LoraConfig; raw: Record<string, unknown>; tensors: Map<string, NamedTensor>; location: string }> {
  const source = resolveFolderSource(where);
  const configBytes = await readFolderFile(source, ADAPTER_CONFIG_FILE);
  if (!configBytes) {
    throw new CheckpointError(`${ADAPTER_CONFIG_FILE} not found in ${source.location}: a LoRA adapter folder holds ${ADAPTER_CONFIG_FILE} and ${ADAPTER_WEIGHTS_FILE}, as PEFT's save_pretrained writes them`, { file: ADAPTER_CONFIG_FILE });
  }
  const raw = parseJsonObject(configBytes, ADAPTER_CONFIG_FILE);
  let config: LoraConfig;
  try {
    const given = { ...raw, modules_to_save: Array.isArray(raw.modules_to_save) ? raw.modules_to_save.filter((m) => !PEFT_CLASSIFIER_NAMES.includes(m as string)) : raw.modules_to_save };
    config = loraConfig(given as Partial<LoraConfig>, `${source.location}/${ADAPTER_CONFIG_FILE}`);
  } catch (e) {
    if (e instanceof ConfigError) throw new CheckpointError(e.message, { file: ADAPTER_CONFIG_FILE }, { cause: e });
    throw e;
  }
  const bytes = await readFolderFile(source, ADAPTER_WEIGHTS_FILE);
  if (!bytes) throw new CheckpointError(`${ADAPTER_WEIGHTS_FILE} not found in ${source.location} (${ADAPTER_CONFIG_FILE} is there); the adapter's weights are missing`, { file: ADAPTER_WEIGHTS_FILE });
  const parsed = parseSafetensors(bytes, `${source.location}/${ADAPTER_WEIGHTS_FILE}`);
  const tensors = new Map<string, NamedTensor>();
  for (const [key, t] of parsed) {
    if (!key.startsWith(PREFIX)) throw new CheckpointError(`${ADAPTER_WEIGHTS_FILE} in ${source.location} has ${key}, which lacks PEFT's ${PREFIX} prefix; is this a PEFT adapter?`, { file: ADAPTER_WEIGHTS_FILE, tensor: key });
    tensors.set(key.slice(PREFIX.length), { name: key, shape: t.shape, data: t.data });
  }
  return { config, raw, tensors, location: source.location };
}

/**
 * The base `model` with an adapter folder's adapter (a new model sharing model's weights; see
 * CausalLM.withAdapter). Every tensor is checked against the base before anything is made: an
 * adapter for another base (another family, other widths, modules this base lacks) is a
 * CheckpointError naming the tensor, both shapes and the file.
 */
export async function loadAdapter(model: CausalLM, where: ModelFolderLocation, options: { seed?: number } = {}): Promise<CausalLM> {
  const { config, raw, tensors, location } = await readAdapterFolder(where);
  const file = `${location}/${ADAPTER_WEIGHTS_FILE}`;
  const belongs = typeof raw.base_model_name_or_path === 'string' ? ` (it was trained on ${raw.base_model_name_or_path})` : '';
  const has = (name: string) => tensors.has(transformersName(model.arch, name));
  const heads: HeadOptions = { score: has(HEAD_TENSORS.score[0]), value: has(HEAD_TENSORS.value[0]) };
  let plan;
  try {
    plan = adapterPlan(model.arch, model.refs, config, heads, model.baseLayout.specs.map((s) => s.name));
  } catch (e) {
    if (e instanceof ConfigError) throw new CheckpointError(`${location}/${ADAPTER_CONFIG_FILE} does not fit this ${model.arch.className}${belongs}: ${e.message}`, { file: ADAPTER_CONFIG_FILE }, { cause: e });
    throw e;
  }
  const expected = new Map<string, readonly number[]>();
  for (const p of plan.pairs) expected.set(p.a, [config.r, p.ref.in]).set(p.b, [p.ref.out, config.r]);
  const baseShapes = new Map(model.baseLayout.specs.map((s) => [s.name, s.shape]));
  for (const name of plan.saved) expected.set(name, baseShapes.get(name) ?? (name.endsWith('.bias') ? [1] : [1, model.arch.hiddenSize]));
  const values = new Map<string, Float32Array>();
  for (const [key, t] of tensors) {
    const name = adapterTensorName(model, key);
    const want = expected.get(name);
    if (!want) {
      throw new CheckpointError(`${file} has ${t.name} ${shapeText(t.shape)}, which an adapter of ${ADAPTER_CONFIG_FILE}'s settings on this ${model.arch.className} does not have${belongs}; check that the adapter belongs to this base`, { file, tensor: t.name });
    }
    if (shapeText(want) !== shapeText(t.shape)) {
      throw new CheckpointError(`${file} has ${t.name} with shape ${shapeText(t.shape)}; this ${model.arch.className} needs ${shapeText(want)}${belongs}: the adapter was trained on a base of other widths`, { file, tensor: t.name });
    }
    values.set(name, t.data);
  }
  // A head's bias is webrlhf's own (transformers' classifiers have none): absent, it is zero.
  const missing = [...expected.keys()].find((name) => !values.has(name) && !name.endsWith('.bias'));
  if (missing) throw new CheckpointError(`${file} lacks ${PREFIX}${transformersName(model.arch, missing)} ${shapeText(expected.get(missing)!)}, which ${ADAPTER_CONFIG_FILE} says the adapter has`, { file, tensor: missing });
  return model.withAdapter(config, { heads, values, ...(options.seed !== undefined ? { seed: options.seed } : {}) });
}

/**
 * Writes an adapted model's adapter as PEFT saves it: adapter_model.safetensors, then
 * adapter_config.json (last, so a folder with a config has whole weights), each file replaced
 * atomically.
 */
export async function saveAdapter(model: CausalLM, where: ModelFolderDestination): Promise<void> {
  const adapter = model.adapter;
  if (!adapter) throw new ConfigError('saveAdapter: this model has no adapter; save it whole with saveModel, or adapt it with withAdapter');
  const values = await adapter.values();
  const tensors = adapter.store.layout.specs.map((s) => ({ name: peftTensorName(model, s.name), shape: s.shape, data: values.get(s.name)! }));
  const config = adapterConfigJson(adapter.config, [...adapter.pairs.values()].map((p) => p.module), model.arch.modelType === 'gpt2');
  const files: [string, Uint8Array][] = [
    [ADAPTER_WEIGHTS_FILE, serializeSafetensors(tensors, { format: 'pt' })],
    [ADAPTER_CONFIG_FILE, new TextEncoder().encode(`${JSON.stringify(config, null, 2)}\n`)],
  ];
  const target = resolveFolderTarget(where);
  for (const [name, bytes] of files) {
    try {
      if (name === ADAPTER_WEIGHTS_FILE) await target.prepare?.();
      await target.write(name, bytes);
    } catch (e) {
      throw new CheckpointError(`could not write ${name} to ${target.location}: ${e instanceof Error ? e.message : String(e)}`, { file: name }, { cause: e });
    }
  }
}
