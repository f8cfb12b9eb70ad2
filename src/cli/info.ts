import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { parseModelConfig, resolveFolderSource, CONFIG_FILE } from '../io/model_folder.js';
import { architectureOf, type Architecture } from '../nn/architecture.js';
import type { LogitsChunking } from '../nn/logit_chunks.js';
import { trainingMemory, type TrainingMemory, type TrainingMemoryOptions } from '../nn/memory_estimate.js';
import { chooseAuto } from '../runtime/auto_choice.js';
import { createRuntime, type BackendChoice } from '../runtime/create_runtime.js';
import { adapterName } from '../runtime/gpu_acquire.js';

const HELP = `Usage: webrlhf info [--backend auto|webgpu|wasm] [--json]
       webrlhf info --model DIR [--batch N] [--length T] [--gradient_checkpointing] [--logits_chunk_rows N|auto] [--json]

Prints the JavaScript runtime, the WebGPU adapter found (with its limits and features),
every GPU acquisition attempt, and the backend that 'auto' picks. With --model, prints the
model folder's architecture, its parameter count and the device memory one full
fine-tuning step (f32, AdamW) needs at --batch sequences of --length tokens; only
config.json is read.
  --backend  also create this backend and print its description (default: auto)
  --model    a model folder (config.json as transformers saves it); alias --model_name_or_path
  --batch    sequences per step for the memory estimate (default 2)
  --length   tokens per sequence for the memory estimate (default 128)
  --gradient_checkpointing  count activations with gradient checkpointing (one block's, plus each block's input)
  --logits_chunk_rows       rows of logits held at once: a number, or auto (default: whole up to 64 MiB, else chunks)
  --json     machine-readable output`;

const MB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

function describeArchitecture(a: Architecture): string[] {
  const attention = a.kvHeads < a.heads ? `${a.heads} heads of ${a.headDim}, ${a.kvHeads} KV heads (grouped-query)` : `${a.heads} heads of ${a.headDim}`;
  const positions = a.rotary ? `rotary θ ${a.rotary.theta}${a.rotary.scaling ? ` (${a.rotary.scaling.rope_type} scaling)` : ''}` : 'learned positions';
  const extras = [a.qkvBias && !a.fusedQKV ? 'q/k/v biases' : '', a.qkNorm ? 'q/k norms' : ''].filter(Boolean);
  return [
    `model          ${a.className} (${a.modelType})`,
    `layers         ${a.layers} × hidden ${a.hiddenSize}, ${attention}, MLP ${a.intermediateSize} ${a.mlp === 'swiglu' ? 'SwiGLU' : 'GELU'}`,
    `               ${a.norm === 'rmsnorm' ? 'RMSNorm' : 'LayerNorm'} (eps ${a.normEps}), ${positions}${extras.length ? `, ${extras.join(', ')}` : ''}`,
    `vocabulary     ${a.vocabSize} (${a.tiedHead ? 'LM head tied to the embedding' : 'own lm_head'}); context ${a.maxPositions}`,
  ];
}

async function modelInfo(dir: string, batch: number, length: number, options: TrainingMemoryOptions, json: boolean): Promise<number> {
  const bytes = await resolveFolderSource(dir).read(CONFIG_FILE);
  if (!bytes) throw new ConfigError(`--model ${dir}: no ${CONFIG_FILE} there; give a model folder as transformers saves it`);
  const config = parseModelConfig(bytes);
  const arch = architectureOf(config);
  const memory: TrainingMemory = trainingMemory(config, batch, length, options);
  if (json) {
    console.log(JSON.stringify({ architecture: arch, memory: { batch, length, ...options, ...memory } }, null, 2));
    return 0;
  }
  for (const line of describeArchitecture(arch)) console.log(line);
  console.log(`parameters     ${memory.parameterCount.toLocaleString('en-US')}`);
  console.log(`training step  batch ${batch} × length ${length}, f32 full fine-tuning with AdamW (${(memory.total / memory.parameterCount).toFixed(1)} bytes a parameter):`);
  console.log(`  parameters   ${MB(memory.parameters)}`);
  console.log(`  gradients    ${MB(memory.gradients)}`);
  console.log(`  AdamW m, v   ${MB(memory.optimizer)}`);
  console.log(`  activations  ${MB(memory.activations)}${options.gradientCheckpointing ? ' (gradient checkpointing)' : ''}`);
  const rows = memory.logitsRows < batch * length ? `, in chunks of ${memory.logitsRows} rows` : '';
  console.log(`  logits       ${MB(memory.logits)} (and their gradient${rows})`);
  console.log(`  total        ${MB(memory.total)}`);
  return 0;
}

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`--${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

export async function infoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      backend: { type: 'string', default: 'auto' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
      model: { type: 'string' }, model_name_or_path: { type: 'string' }, batch: { type: 'string', default: '2' }, length: { type: 'string', default: '128' },
      gradient_checkpointing: { type: 'boolean', default: false }, logits_chunk_rows: { type: 'string', default: 'auto' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const model = values.model ?? values.model_name_or_path;
  if (model !== undefined) {
    const chunkRows: LogitsChunking = values.logits_chunk_rows === 'auto' ? 'auto' : positive('logits_chunk_rows', values.logits_chunk_rows!);
    const options = { gradientCheckpointing: values.gradient_checkpointing!, logitsChunkRows: chunkRows };
    return modelInfo(model, positive('batch', values.batch!), positive('length', values.length!), options, values.json!);
  }
  // Probe the GPU with 'auto' so the adapter is reported even when WASM is chosen.
  const rt = await createRuntime({ backend: values.backend as BackendChoice });
  try {
    const auto = chooseAuto(rt.adapter);
    const report = {
      runtime: `${rt.runtime} ${rt.runtimeVersion}`,
      backends: { wasm: 'available', webgpu: rt.adapter ? 'available' : 'unavailable' },
      adapter: rt.adapter ?? null,
      gpuAttempts: rt.gpuAttempts,
      auto,
      backend: rt.backend.info(),
    };
    if (values.json) {
      console.log(JSON.stringify(report, null, 2));
      return 0;
    }
    const a = rt.adapter;
    console.log(`runtime        ${report.runtime}`);
    console.log(`backends       wasm: available; webgpu: ${report.backends.webgpu}`);
    if (a) {
      console.log(`adapter        ${adapterName(a)}${a.software ? ' (software)' : ''}`);
      console.log(`  from         ${a.source}, ${a.featureLevel} feature level`);
      console.log(`  features     ${a.features.join(', ') || 'none'}`);
      for (const [k, v] of Object.entries(a.limits)) console.log(`  ${k.padEnd(36)} ${v}`);
    }
    if (rt.gpuAttempts.length) {
      console.log('gpu attempts');
      for (const line of rt.gpuAttempts) console.log(`  - ${line}`);
    }
    console.log(`auto picks     ${auto.backend} (${auto.reason})`);
    console.log(`backend        ${rt.choice.chosen}: ${rt.backend.info().device}`);
    return 0;
  } finally {
    rt.dispose();
  }
}
