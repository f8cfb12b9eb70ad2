import { decoderTensors, architectureOf, type GPTConfig, type NamedTensor } from 'webrlhf';
import { randomF32 } from './reference.js';

/** Every GPT-2 tensor of `config` (Hugging Face names, optionally prefixed), filled with seeded random values. */
export function gpt2Tensors(config: GPTConfig, prefix = ''): NamedTensor[] {
  return decoderTensors(architectureOf(config)).map((s, k) => ({
    name: prefix + s.name,
    shape: s.shape,
    data: randomF32(s.shape.reduce((a, b) => a * b, 1), 100 + k),
  }));
}
