// What a training step of a model needs on the device, before anything is allocated: the
// model's own buffers counted by the code that allocates them, on a backend that only counts.
import { VIEW_ALIGN, type Backend, type Tensor } from '../backend/backend.js';
import type { DType } from '../backend/dtype.js';
import { ConfigError } from '../errors.js';
import { Activations } from './activations.js';
import { architectureOf, type ModelConfig } from './architecture.js';
import { parameterLayout, parameterCount, type HeadOptions } from './layout.js';
import { decoderRefs } from './decoder_tensors.js';
import { checkLogitsChunking, logitsChunkRows, type LogitsChunking } from './logit_chunks.js';
import { adapterPlan } from './lora/lora_adapter.js';
import { loraConfig, type LoraConfig } from './lora/lora_config.js';

/** Bytes of each part of a training step with AdamW: full fine-tuning in f32, or a LoRA adapter on a (16-bit) frozen base. */
export interface TrainingMemory {
  /** Parameters of the model (without the buffer's alignment padding). */
  parameterCount: number;
  /** The model's weights, as stored (f32, or 16-bit matrices with f32 vectors). */
  parameters: number;
  /** Trained parameters: the model's, or the adapter's (with the heads and modules it trains in full). */
  trainableCount: number;
  /** The adapter's own tensors (0 without one). */
  adapter: number;
  /** Gradients of the trained parameters. */
  gradients: number;
  /** AdamW's two moments of the trained parameters. */
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
  /** How the weights are stored (default 'f32'); 16 bits need `lora` (a 16-bit model is frozen). */
  dtype?: DType;
  /** Train a LoRA adapter of these PEFT keys on the frozen model instead of the model (CausalLM.withAdapter). */
  lora?: Partial<LoraConfig>;
}

/** A backend whose tensors hold no memory: zeros() returns a tensor of the right size and nothing else. */
function countingBackend(): Backend {
  const tensor = (shape: readonly number[]) => ({ shape, size: shape.reduce((a, b) => a * b, 1), dispose() {} }) as unknown as Tensor;
  return { zeros: tensor } as unknown as Backend;
}

/** The device memory of one training step at `batch` sequences of `length` tokens. */
export function trainingMemory(config: ModelConfig, batch: number, length: number, options: TrainingMemoryOptions = {}): TrainingMemory {
  const arch = architectureOf(config);
  const dtype = options.dtype ?? 'f32';
  if (dtype !== 'f32' && !options.lora) throw new ConfigError(`trainingMemory: a ${dtype} model is frozen; give lora (an adapter trains on it) or dtype 'f32'`);
  // With an adapter the heads are the adapter's; the base has none.
  const layout = parameterLayout(arch, options.lora ? {} : options.heads, dtype);
  const parameters = dtype === 'f32' ? layout.total * 4 : layout.decayEnd * 2 + (layout.total - layout.decayEnd) * 4;
  let trainable = layout.total;
  let trainableCount = parameterCount(layout);
  let loraScratch = 0;
  if (options.lora) {
    const lora = loraConfig(options.lora);
    const shapes = new Map(layout.specs.map((s) => [s.name, s.shape]));
    const { pairs, saved } = adapterPlan(arch, decoderRefs(arch), lora, options.heads, [...shapes.keys()]);
    const sizes = [...pairs.flatMap((p) => [lora.r * p.ref.in, p.ref.out * lora.r]), ...saved.map((n) => (shapes.get(n) ?? (n.endsWith('.bias') ? [1] : [1, arch.hiddenSize])).reduce((a, b) => a * b, 1))];
    trainableCount = sizes.reduce((a, b) => a + b, 0);
    trainable = sizes.reduce((n, size) => n + Math.ceil(size / VIEW_ALIGN) * VIEW_ALIGN, 0);
    // h and ∂L/∂h [N, r]; with dropout, a dropped input of the widest adapted map.
    const N = batch * length;
    loraScratch = (2 * N * lora.r + (lora.lora_dropout > 0 ? N * Math.max(...pairs.map((p) => p.ref.in)) : 0)) * 4;
  }
  const acts = new Activations(countingBackend(), arch, batch, length, { checkpoint: options.gradientCheckpointing ?? false });
  const activations = acts.bytes + loraScratch;
  const chunking = options.logitsChunkRows ?? 'auto';
  checkLogitsChunking(chunking);
  const logitsRows = logitsChunkRows(chunking, batch * length, arch.vocabSize);
  const logits = 2 * logitsRows * arch.vocabSize * 4;
  const adapter = options.lora ? trainable * 4 : 0;
  const [gradients, optimizer] = [trainable * 4, 2 * trainable * 4];
  const total = parameters + adapter + gradients + optimizer + activations + logits;
  return { parameterCount: parameterCount(layout), parameters, trainableCount, adapter, gradients, optimizer, activations, logits, logitsRows, total };
}
