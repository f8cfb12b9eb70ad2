// What a training step of a model needs on the device, before anything is allocated: the
// model's own buffers counted by the code that allocates them, on a backend that only counts.
import type { Backend, Tensor } from '../backend/backend.js';
import { Activations } from './activations.js';
import { architectureOf, type ModelConfig } from './architecture.js';
import { parameterLayout, parameterCount, type HeadOptions } from './layout.js';

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
  /** The LM head's [B·T, V] logits and their gradient. */
  logits: number;
  total: number;
}

/** A backend whose tensors hold no memory: zeros() returns a tensor of the right size and nothing else. */
function countingBackend(): Backend {
  const tensor = (shape: readonly number[]) => ({ shape, size: shape.reduce((a, b) => a * b, 1), dispose() {} }) as unknown as Tensor;
  return { zeros: tensor } as unknown as Backend;
}

/** The device memory of one training step at `batch` sequences of `length` tokens. */
export function trainingMemory(config: ModelConfig, batch: number, length: number, heads: HeadOptions = {}): TrainingMemory {
  const arch = architectureOf(config);
  const layout = parameterLayout(arch, heads);
  const parameters = layout.total * 4;
  const acts = new Activations(countingBackend(), arch, batch, length);
  const activations = acts.bytes;
  const logits = 2 * batch * length * arch.vocabSize * 4;
  const total = 4 * parameters + activations + logits;
  return { parameterCount: parameterCount(layout), parameters, gradients: parameters, optimizer: 2 * parameters, activations, logits, total };
}
