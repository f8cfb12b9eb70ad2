// Dropout with a counter-based mask (PEFT's lora_dropout): element i is kept when
// randomUniform's element i under the same { seed, stream, offset } is ≥ p, so the mask is
// the same on every backend and on the host (philoxUniforms), and can be drawn again for the
// backward instead of being stored (kernels/dropout.wgsl, wasm/dropout.ts).
import { ConfigError } from '../errors.js';
import { opFamily } from '../backend/op_family.js';
import type { Tensor } from '../backend/tensor.js';
import type { RandomOptions } from '../random/philox.js';
import { expectSize, kernelsOf, noAlias } from './checks.js';
import { philoxPlan } from './sampling.js';

export interface DropoutOptions extends RandomOptions {
  /** Probability of zeroing an element, in [0, 1). */
  p: number;
  /** Add into out instead of overwriting it. */
  accumulate?: boolean;
}

/** A checked dropout call, by the names both kernels give its values. */
export interface DropoutPlan {
  x: Tensor;
  out: Tensor;
  n: number;
  key0: number;
  key1: number;
  stream: number;
  offset: number;
  /** ⌈p·2²⁴⌉·2⁻²⁴: uniforms are multiples of 2⁻²⁴, so u ≥ threshold exactly when u ≥ p (and p's f32 rounding cannot move the mask). */
  threshold: number;
  /** 1 / (1 − p), applied as an f32 factor. */
  scale: number;
  accumulate: boolean;
}

export interface DropoutKernels {
  dropout(p: DropoutPlan): void;
}

/** Invocations per workgroup of dropout.wgsl (one value each). */
const WG = 64;
/** Below this many elements the WASM kernel runs on one thread. */
const PARALLEL_MIN_ELEMENTS = 1 << 16;

export const dropoutFamily = opFamily<DropoutKernels>('dropout', {
  webgpu: (gpu) => ({
    // Tensors past one binding run in aligned pieces; each piece's counters start at its first
    // element, so its stream moves by that much (stream + n ≤ 2³² was checked: no wrap).
    dropout: ({ x, out, n, stream, accumulate, ...rest }) =>
      gpu.elementwise('dropout', 'dropout', { x, out }, n, { wg: WG, params: (start) => ({ ...rest, stream: stream + start, accumulate: Number(accumulate) }) }),
  }),
  wasm: (cpu) => ({
    dropout: (p) => cpu.split('dropout', p, { rows: p.n, work: p.n, minWork: PARALLEL_MIN_ELEMENTS }),
  }),
});

/**
 * out (+)= x ⊙ keep / (1 − p), keep_i = (u_i ≥ p) with u_i exactly randomUniform's element i
 * under the same { seed, stream, offset } (counter (stream + i, offset, 0, 0), elements in
 * row-major order): the same mask on every backend and on the host (`philoxUniforms`).
 * Linear in x with a fixed mask, so the same call on ∂L/∂out is the backward. A kept value is
 * x·f32(1/(1 − p)); a dropped one is x·0 (as PyTorch: NaN and ±inf in x stay NaN). p = 0 is
 * exact (out = x, or out += x) and draws nothing. x and out have the same size (any shapes);
 * out must not share storage with x.
 */
export function dropout(x: Tensor, out: Tensor, o: DropoutOptions): void {
  const op = 'dropout';
  const k = kernelsOf(op, dropoutFamily, x, out);
  expectSize(op, 'out', out, x.size);
  noAlias(op, [out], [x]);
  const counter = philoxPlan(op, o, x.size);
  const p = o.p;
  if (typeof p !== 'number' || !(p >= 0 && p < 1)) {
    throw new ConfigError(`${op}: p (the probability of zeroing an element) must be a number in [0, 1), got ${p}; for p = 1 write zeros instead`);
  }
  k.dropout({
    x, out, n: x.size, key0: counter.key[0], key1: counter.key[1], stream: counter.stream, offset: counter.offset,
    threshold: Math.ceil(p * 2 ** 24) * 2 ** -24, scale: 1 / (1 - p), accumulate: !!o.accumulate,
  });
}
