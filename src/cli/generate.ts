import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { loadModel } from '../io/pretrained_model.js';
import { createRuntime, type BackendChoice } from '../runtime/create_runtime.js';
import { generate } from '../text/generate.js';
import { byteTokenizer } from '../text/byte_tokenizer.js';
import { loadTokenizer } from '../text/tokenizer_files.js';

const HELP = `Usage: webrlhf generate --model DIR --prompt TEXT [--prompt TEXT ...] [options]

Continues each prompt with a model folder (config.json + model.safetensors, and its
tokenizer: tokenizer.json, or vocab.json + merges.txt). Prompts of different lengths run
in one batch, with the keys and values of past tokens cached on the device.

  --model DIR            model folder
  --prompt TEXT          a prompt (repeat for several)
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
      model: { type: 'string' }, prompt: { type: 'string', multiple: true }, n: { type: 'string', default: '1' },
      'max-new-tokens': { type: 'string', default: '32' }, temperature: { type: 'string', default: '1' },
      'top-k': { type: 'string', default: '0' }, 'top-p': { type: 'string', default: '1' }, greedy: { type: 'boolean', default: false },
      seed: { type: 'string', default: '0' }, stop: { type: 'string', multiple: true }, tokenizer: { type: 'string' },
      backend: { type: 'string', default: 'auto' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.model) throw new ConfigError(`--model is required.\n\n${HELP}`);
  if (!values.prompt?.length) throw new ConfigError(`give at least one --prompt.\n\n${HELP}`);
  const number = (flag: string, text: string): number => {
    const v = Number(text);
    if (text.trim() === '' || !Number.isFinite(v)) throw new ConfigError(`--${flag} must be a number, got ${JSON.stringify(text)}`);
    return v;
  };
  const tokenizer = values.tokenizer === 'byte' ? byteTokenizer() : await loadTokenizer(values.tokenizer ?? values.model);
  const rt = await createRuntime({ backend: values.backend as BackendChoice });
  try {
    const model = await loadModel(rt.backend, values.model);
    if (tokenizer.vocabSize > model.arch.vocabSize) {
      throw new ConfigError(`the tokenizer has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${model.arch.vocabSize}; use the tokenizer the model was trained with`);
    }
    const t0 = performance.now();
    const samples = await generate(model, values.prompt, {
      tokenizer,
      num_return_sequences: number('n', values.n),
      max_new_tokens: number('max-new-tokens', values['max-new-tokens']),
      temperature: values.greedy ? 0 : number('temperature', values.temperature),
      top_k: number('top-k', values['top-k']),
      top_p: number('top-p', values['top-p']),
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
