import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { loadModelArg } from './model_arg.js';
import { createRuntime, type BackendChoice } from '../runtime/create_runtime.js';
import { generate } from '../text/generate.js';
import { byteTokenizer } from '../text/byte_tokenizer.js';
import { loadTokenizer } from '../text/tokenizer_files.js';

const HELP = `Usage: webrlhf generate --model DIR --prompt TEXT [--prompt TEXT ...] [options]

Continues each prompt with a model folder (config.json + model.safetensors, and its
tokenizer: tokenizer.json, or vocab.json + merges.txt). Prompts of different lengths run
in one batch, with the keys and values of past tokens cached on the device. Sampling
options default to the folder's generation_config.json (as transformers reads it), else
to the values below.

  --model DIR            model folder (alias --model_name_or_path)
  --adapter DIR          a LoRA adapter folder (PEFT's files) to run on the model
  --prompt TEXT          a prompt (repeat for several)
  --chat                 each prompt is a user message, rendered with the tokenizer's chat template
  --system TEXT          with --chat: a system message before each prompt
  --n N                  samples per prompt (default 1)
  --max-new-tokens N     new tokens per sample at most (default 32)
  --temperature T        sampling temperature (default 1; 0 is greedy)
  --top-k K              sample among the K most likely tokens (default 0: off)
  --top-p P              sample among the most likely tokens holding probability P (default 1: off)
  --greedy               argmax decoding (same as --temperature 0)
  --seed S               seed of the device RNG (default 0): same seed, same samples on every backend
  --stop TEXT            end a sample after this text (repeat for several)
  --tokenizer WHERE      a folder with the tokenizer files, or "byte" (default: the model folder)
  --backend NAME         auto (default), webgpu or wasm
  --json                 one JSON object per sample (ids, text, logprobs, finish_reason) instead of text`;

export async function generateCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' }, model_name_or_path: { type: 'string' }, adapter: { type: 'string' }, prompt: { type: 'string', multiple: true }, n: { type: 'string', default: '1' },
      chat: { type: 'boolean', default: false }, system: { type: 'string' },
      'max-new-tokens': { type: 'string' }, temperature: { type: 'string' },
      'top-k': { type: 'string' }, 'top-p': { type: 'string' }, greedy: { type: 'boolean', default: false },
      seed: { type: 'string', default: '0' }, stop: { type: 'string', multiple: true }, tokenizer: { type: 'string' },
      backend: { type: 'string', default: 'auto' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const modelDir = values.model ?? values.model_name_or_path;
  if (!modelDir) throw new ConfigError(`--model is required.\n\n${HELP}`);
  if (values.system !== undefined && !values.chat) throw new ConfigError('--system needs --chat (a system message belongs to a conversation)');
  if (!values.prompt?.length) throw new ConfigError(`give at least one --prompt.\n\n${HELP}`);
  const number = (flag: string, text: string): number => {
    const v = Number(text);
    if (text.trim() === '' || !Number.isFinite(v)) throw new ConfigError(`--${flag} must be a number, got ${JSON.stringify(text)}`);
    return v;
  };
  const tokenizer = values.tokenizer === 'byte' ? byteTokenizer() : await loadTokenizer(values.tokenizer ?? modelDir);
  const rt = await createRuntime({ backend: values.backend as BackendChoice });
  try {
    const model = await loadModelArg(rt.backend, modelDir, values.adapter);
    if (tokenizer.vocabSize > model.arch.vocabSize) {
      throw new ConfigError(`the tokenizer has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${model.arch.vocabSize}; use the tokenizer the model was trained with`);
    }
    const t0 = performance.now();
    const given = (flag: 'max-new-tokens' | 'temperature' | 'top-k' | 'top-p') => (values[flag] === undefined ? undefined : number(flag, values[flag]!));
    // Options left out fall back to the folder's generation_config.json, then to generate()'s defaults.
    const sampling = Object.fromEntries(Object.entries({
      max_new_tokens: given('max-new-tokens'), temperature: values.greedy ? 0 : given('temperature'), top_k: given('top-k'), top_p: given('top-p'),
    }).filter(([, v]) => v !== undefined));
    const system = values.system === undefined ? [] : [{ role: 'system' as const, content: values.system }];
    const prompts = values.chat ? values.prompt.map((content) => [...system, { role: 'user' as const, content }]) : values.prompt;
    const samples = await generate(model, prompts, {
      tokenizer,
      num_return_sequences: number('n', values.n),
      ...sampling,
      seed: number('seed', values.seed),
      stop_strings: values.stop ?? [],
    });
    const seconds = (performance.now() - t0) / 1000;
    for (const s of samples) {
      if (values.json) {
        console.log(JSON.stringify({ prompt: s.prompt, sample: s.sample, text: s.text, ids: s.ids, logprobs: s.logprobs, finish_reason: s.finishReason }));
        continue;
      }
      const mean = s.logprobs.reduce((a, l) => a + l, 0) / Math.max(1, s.logprobs.length);
      console.log(`── prompt ${s.prompt}, sample ${s.sample}: ${s.ids.length} tokens, ended by ${s.finishReason}, mean log-prob ${mean.toFixed(3)}`);
      console.log(`${values.prompt[s.prompt]}${s.text}`);
    }
    const tokens = samples.reduce((a, s) => a + s.ids.length, 0);
    if (!values.json) console.log(`── ${samples.length} samples, ${tokens} new tokens in ${seconds.toFixed(2)} s on ${rt.backend.kind}`);
    model.dispose();
    return 0;
  } finally {
    rt.dispose();
  }
}
