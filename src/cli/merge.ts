// `webrlhf merge --model DIR --adapter DIR --out DIR`: a LoRA adapter merged into its base and
// written as a full model folder (PEFT's merge_and_unload + save_pretrained), with the
// base's tokenizer files beside it.
import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { saveModel } from '../io/pretrained_model.js';
import { createRuntime, type BackendChoice } from '../runtime/create_runtime.js';
import { loadTokenizer, saveTokenizer, isSavableTokenizer } from '../text/tokenizer_files.js';
import { loadModelArg } from './model_arg.js';

const HELP = `Usage: webrlhf merge --model DIR --adapter DIR --out DIR [--backend NAME]

Adds a LoRA adapter's update (scale·B·A) into its base's weights and writes the result as a
model folder that transformers and webrlhf load without PEFT (the adapter's fully trained
modules, such as a reward model's score head, in place). The base's tokenizer is copied.

  --model DIR      the base model folder (alias --model_name_or_path)
  --adapter DIR    the adapter folder (adapter_config.json + adapter_model.safetensors)
  --out DIR        the merged model folder to write
  --backend NAME   auto (default), webgpu or wasm`;

export async function mergeCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' }, model_name_or_path: { type: 'string' }, adapter: { type: 'string' }, out: { type: 'string' },
      backend: { type: 'string', default: 'auto' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  values.model ??= values.model_name_or_path;
  for (const key of ['model', 'adapter', 'out'] as const) if (!values[key]) throw new ConfigError(`--${key} is required.\n\n${HELP}`);
  const rt = await createRuntime({ backend: values.backend as BackendChoice });
  try {
    const adapted = await loadModelArg(rt.backend, values.model!, values.adapter!);
    const merged = await adapted.merged();
    adapted.dispose();
    await saveModel(merged, values.out!);
    merged.dispose();
    const tokenizer = await loadTokenizer(values.model!).catch(() => undefined);
    if (tokenizer && isSavableTokenizer(tokenizer)) await saveTokenizer(tokenizer, values.out!);
    console.log(`merged ${values.adapter} into ${values.model}; wrote ${values.out}${tokenizer ? ' (with the tokenizer)' : ''}`);
    return 0;
  } finally {
    rt.dispose();
  }
}
