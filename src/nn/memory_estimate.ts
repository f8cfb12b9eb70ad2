// What a training step of a model needs on the device, before anything is allocated: the
// model's own buffers counted by the code that allocates them, on a backend that only counts.
import type { Backend, Tensor } from '../backend/backend.js';
import { Activations } from './activations.js';
import { architectureOf, type ModelConfig } from './architecture.js';
import { parameterLayout, parameterCount, type HeadOptions } from './layout.js';
import { checkLogitsChunking, logitsChunkRows, type LogitsChunking } from './logit_chunks.js';

/** Bytes of each part of a full fine-tuning step in f32 with AdamW. */
export interface TrainingMemory {
  /** Parameters (without the buffer's alignment padding). */
  parameterCount: number;
  parameters: number;
  gradients: number;
  /** AdamW's two moments. */
  optimizer: number;
  /** What the forward keeps for the backward, and the backward's scratch. */
  activations: number;
  /** The LM head's logits and their gradient: [B·T, V] each, or one chunk's rows when chunked. */
  logits: number;
  /** Rows of logits held at once (B·T unless chunked). */
  logitsRows: number;
  total: number;
}

/** The model's settings that change a step's memory (as CausalLM and loadModel take them). */
export interface TrainingMemoryOptions {
  heads?: HeadOptions;
  /** CausalLM.gradientCheckpointing (default false). */
  gradientCheckpointing?: boolean;
  /** CausalLM.logitsChunkRows (default 'auto', as a model's). */
  logitsChunkRows?: LogitsChunking;
}

/** A backend whose tensors hold no memory: zeros() returns a tensor of the right size and nothing else. */
function countingBackend(): Backend {
  const tensor = (shape: readonly number[]) => ({ shape, size: shape.reduce((a, b) => a * b, 1), dispose() {} }) as unknown as Tensor;
  return { zeros: tensor } as unknown as Backend;
}

/** The device memory of one training step at `batch` sequences of `length` tokens. */
export function trainingMemory(config: ModelConfig, batch: number, length: number, options: TrainingMemoryOptions = {}): TrainingMemory {
  const arch = architectureOf(config);
  const layout = parameterLayout(arch, options.heads);
  const parameters = layout.total * 4;
  const acts = new Activations(countingBackend(), arch, batch, length, { checkpoint: options.gradientCheckpointing ?? false });
  const activations = acts.bytes;
  const chunking = options.logitsChunkRows ?? 'auto';
  checkLogitsChunking(chunking);
  const logitsRows = logitsChunkRows(chunking, batch * length, arch.vocabSize);
  const logits = 2 * logitsRows * arch.vocabSize * 4;
  const total = 4 * parameters + activations + logits;
  return { parameterCount: parameterCount(layout), parameters, gradients: parameters, optimizer: 2 * parameters, activations, logits, logitsRows, total };
}
