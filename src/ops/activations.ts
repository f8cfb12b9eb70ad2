// Elementwise activations and their derivatives: GELU (GPT-2's MLP), SiLU, and SwiGLU's
// product SiLU(gate) ⊙ up (Llama's MLP) (kernels/activations.wgsl, wasm/activations.ts).
import { ShapeError } from '../errors.js';
import { opFamily } from '../backend/op_family.js';
import { checkSameShape } from '../backend/shapes.js';
import type { Tensor } from '../backend/tensor.js';
import { kernelsOf, noAlias } from './checks.js';

/** A forward kernel reads x and writes out; a backward one reads dout and x and writes dx. */
interface Forward {
  x: Tensor;
  out: Tensor;
  n: number;
}
interface Backward {
  dout: Tensor;
  x: Tensor;
  dx: Tensor;
  n: number;
}

/** SwiGLU's kernels: the product, and its two gradients. */
interface GatedForward {
  gate: Tensor;
  up: Tensor;
  out: Tensor;
  n: number;
}
interface GatedBackward {
  dout: Tensor;
  gate: Tensor;
  up: Tensor;
  dgate: Tensor;
  dup: Tensor;
  n: number;
}

export interface ActivationKernels {
  gelu(p: Forward): void;
  gelu_backward(p: Backward): void;
  silu(p: Forward): void;
  silu_backward(p: Backward): void;
  swiglu(p: GatedForward): void;
  swiglu_backward(p: GatedBackward): void;
}

/** Invocations per workgroup of activations.wgsl, and values per invocation (one vec4). */
const WG = 64;
const PER_INVOCATION = 4;

export const activationFamily = opFamily<ActivationKernels>('activations', {
  webgpu: (gpu) => {
    /** One invocation per vec4 of the n values. */
    const elementwise = (op: string, entry: string, bindings: Record<string, Tensor>, n: number) => gpu.elementwise(op, entry, bindings, n, { wg: WG, per: PER_INVOCATION });
    const forward = (op: string, entry: string) => ({ x, out, n }: Forward) => elementwise(op, entry, { x, out }, n);
    // The WGSL names dx `out`: one binding serves both directions.
    const backward = (op: string, entry: string) => ({ dout, x, dx, n }: Backward) => elementwise(op, entry, { x, dout, out: dx }, n);
    return {
      gelu: forward('gelu', 'gelu'),
      gelu_backward: backward('geluBackward', 'gelu_backward'),
      silu: forward('silu', 'silu'),
      silu_backward: backward('siluBackward', 'silu_backward'),
      swiglu: ({ gate, up, out, n }) => elementwise('swiglu', 'swiglu', { gate, up, out }, n),
      swiglu_backward: ({ dout, gate, up, dgate, dup, n }) => elementwise('swigluBackward', 'swiglu_backward', { dout, gate, up, dgate, dup }, n),
    };
  },
  wasm: (cpu) => cpu.direct<ActivationKernels>(['gelu', 'gelu_backward', 'silu', 'silu_backward', 'swiglu', 'swiglu_backward']),
});

/** out = GELU(x), tanh approximation (GPT-2's). Same shapes; out may not alias x. */
export function gelu(x: Tensor, out: Tensor): void {
  forwardOp('gelu', x, out).gelu({ x, out, n: x.size });
}

/** dx = dout · GELU′(x) (overwrites dx). */
export function geluBackward(dout: Tensor, x: Tensor, dx: Tensor): void {
  backwardOp('geluBackward', dout, x, dx).gelu_backward({ dout, x, dx, n: x.size });
}

/** out = SiLU(x) = x·σ(x). Same shapes; out may not alias x. */
export function silu(x: Tensor, out: Tensor): void {
  forwardOp('silu', x, out).silu({ x, out, n: x.size });
}

/** dx = dout · SiLU′(x), SiLU′ = σ(x)·(1 + x·(1 − σ(x))) (overwrites dx). */
export function siluBackward(dout: Tensor, x: Tensor, dx: Tensor): void {
  backwardOp('siluBackward', dout, x, dx).silu_backward({ dout, x, dx, n: x.size });
}

/**
 * out = SiLU(gate) ⊙ up (Llama's MLP is down_proj(SiLU(gate_proj(x)) ⊙ up_proj(x))). Same
 * shapes; out may not alias gate or up.
 */
export function swiglu(gate: Tensor, up: Tensor, out: Tensor): void {
  const k = kernelsOf('swiglu', activationFamily, gate, up, out);
  checkSameShape('swiglu', gate.shape, up.shape);
  checkSameShape('swiglu', out.shape, gate.shape);
  noAlias('swiglu', [out], [gate, up]);
  k.swiglu({ gate, up, out, n: gate.size });
}

/**
 * dgate = dout · up · SiLU′(gate), dup = dout · SiLU(gate) (overwrites both). Same shapes;
 * dgate and dup may be views of one buffer (a fused gate/up gradient), not of an input's.
 */
export function swigluBackward(dout: Tensor, gate: Tensor, up: Tensor, dgate: Tensor, dup: Tensor): void {
  const k = kernelsOf('swigluBackward', activationFamily, dout, gate, up, dgate, dup);
  for (const t of [gate, up, dgate, dup]) checkSameShape('swigluBackward', t.shape, dout.shape);
  noAlias('swigluBackward', [dgate, dup], [dout, gate, up]);
  if (dgate === dup) throw new ShapeError('swigluBackward: dgate and dup are the same tensor; give each its own');
  k.swiglu_backward({ dout, gate, up, dgate, dup, n: dout.size });
}

function forwardOp(op: string, x: Tensor, out: Tensor): ActivationKernels {
  const k = kernelsOf(op, activationFamily, x, out);
  checkSameShape(op, x.shape, out.shape);
  noAlias(op, [out], [x]);
  return k;
}

function backwardOp(op: string, dout: Tensor, x: Tensor, dx: Tensor): ActivationKernels {
  const k = kernelsOf(op, activationFamily, dout, x, dx);
  checkSameShape(op, dout.shape, x.shape);
  checkSameShape(op, dx.shape, x.shape);
  noAlias(op, [dx], [dout, x]);
  return k;
}
