import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { BatchError, ConfigError } from '../errors.js';
import { peftTensorName } from '../io/peft_adapter.js';
import { loadModelArg } from './model_arg.js';
import { serializeSafetensors, type NamedTensor } from '../io/safetensors.js';
import type { LossReduction, TokenBatch } from '../nn/batch.js';
import { createRuntime, type BackendChoice } from '../runtime/create_runtime.js';
import { platform } from '../runtime/platform.js';

const HELP = `Usage: webrlhf grad --model DIR --batch FILE.json --out FILE.safetensors [options]

Runs one forward and backward pass of a model folder (config.json + model.safetensors)
on a batch and writes the loss, the logits and the gradient of every parameter (under the
parameter's own name; with --adapter, of every adapter tensor under PEFT's name) to a safetensors file: a way to check webrlhf against another framework.

The batch file holds {"input_ids": [[...], ...], "labels": [[...], ...], "attention_mask": [[...], ...]}.
Rows have equal length. labels are aligned with input_ids as in Hugging Face (position t is
trained to predict labels[t+1]); -1 or -100 marks a position without loss. Without labels,
every real token after the first is a target. attention_mask (1 token, 0 padding) is optional.

  --model DIR          model folder (alias --model_name_or_path)
  --adapter DIR        a LoRA adapter folder (PEFT's files) to run on the model
  --batch FILE         batch JSON
  --out FILE           safetensors file to write (written atomically)
  --backend NAME       auto (default), webgpu or wasm
  --reduction NAME     mean (default: mean over target tokens, as Hugging Face) or sum`;

export async function gradCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' }, model_name_or_path: { type: 'string' }, adapter: { type: 'string' }, batch: { type: 'string' }, out: { type: 'string' },
      backend: { type: 'string', default: 'auto' }, reduction: { type: 'string', default: 'mean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  values.model ??= values.model_name_or_path;
  for (const key of ['model', 'batch', 'out'] as const) {
    if (!values[key]) throw new ConfigError(`--${key} is required.\n\n${HELP}`);
  }
  if (values.reduction !== 'mean' && values.reduction !== 'sum') throw new ConfigError(`--reduction must be mean or sum, got ${values.reduction}`);
  const batch = await readBatch(values.batch!);
  const rt = await createRuntime({ backend: values.backend as BackendChoice });
  try {
    const model = await loadModelArg(rt.backend, values.model!, values.adapter);
    const be = rt.backend;
    const p = model.forward(batch, { logits: true, reduction: values.reduction as LossReduction });
    const loss = model.lmLoss();
    model.zeroGrad();
    model.backward({ lm: true });
    const grads = await model.readGradients();
    const tensors: NamedTensor[] = [
      { name: 'loss', shape: [], data: await be.read(loss) },
      { name: 'logits', shape: [p.B, p.T, model.arch.vocabSize], data: await be.read(model.logits) },
      // An adapter's gradients under PEFT's names: the names its adapter_model.safetensors uses.
      ...model.layout.specs.map((s) => ({ name: model.adapter ? peftTensorName(model, s.name) : s.name, shape: s.shape, data: grads.get(s.name)! })),
    ];
    const fs = platform().fs!;
    await fs.writeFileAtomic(values.out!, serializeSafetensors(tensors, { loss: String(tensors[0]!.data[0]), backend: be.kind, reduction: values.reduction! }));
    console.log(`loss ${tensors[0]!.data[0]} (${p.counted} target tokens, ${values.reduction}) on ${be.kind}; wrote ${tensors.length} tensors to ${values.out}`);
    model.dispose();
    return 0;
  } finally {
    rt.dispose();
  }
}

async function readBatch(path: string): Promise<TokenBatch> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new BatchError(`--batch ${path}: ${e instanceof Error ? e.message : String(e)}; it must be a JSON file with "input_ids"`);
  }
  const o = raw as Record<string, unknown>;
  const rows = (key: string): number[][] | undefined => {
    const v = o[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((r) => Array.isArray(r) && r.every((x) => typeof x === 'number'))) {
      throw new BatchError(`--batch ${path}: "${key}" must be a list of rows of numbers`);
    }
    return v as number[][];
  };
  const inputIds = rows('input_ids');
  if (!inputIds) throw new BatchError(`--batch ${path}: "input_ids" is missing`);
  const batch: TokenBatch = { inputIds };
  const labels = rows('labels');
  const mask = rows('attention_mask');
  if (labels) batch.labels = labels;
  if (mask) batch.attentionMask = mask;
  return batch;
}
