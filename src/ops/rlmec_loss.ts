// RLMEC's token-level objective (ALGORITHMS.md §5; kernels/losses/rlmec.wgsl,
// wasm/losses/rlmec.ts): one dispatch over a batch's tokens, in f32 on WebGPU (one workgroup)
// and f64 on WASM.
import { opFamily } from '../backend/op_family.js';
import type { Tensor } from '../backend/tensor.js';
import { checkNumber, checkTokenLoss } from './checks.js';

/** What the stats tensor holds, in order. */
export const RLMEC_STATS = ['loss', 'rl_loss', 'imitation_loss', 'ratio', 'clipfrac'] as const;

export interface RLMECLossOptions {
  /** ε of w = min(ρr, clip(ρ, 1 − ε, 1 + ε)·r) (the spec's 0.3). */
  cliprange: number;
  /** λ of L = L_RL + λ·L_reg (imitation_weight, the spec's 1.0). */
  imitationWeight: number;
}

export interface RLMECLossKernels {
  rlmec(p: Record<string, Tensor | number>): void;
}

export const rlmecLossFamily = opFamily<RLMECLossKernels>('RLMEC loss', {
  webgpu: (gpu) => gpu.singleWorkgroups<RLMECLossKernels>({ rlmec: 'rlmecLoss' }),
  wasm: (cpu) => cpu.direct<RLMECLossKernels>(['rlmec']),
});

/**
 * RLMEC's objective over tokens of the samples y (rewards r ≠ 0) and of the rewrites ŷ
 * (imitation weights c ≠ 0), which may share a batch: with ρ = exp(logprobs − refLogprobs)
 * held constant, w = min(ρr, clip(ρ, 1 − ε, 1 + ε)·r),
 * L = −Σ w·logprobs / N + λ·Σ c·(−logprobs) / N_c (N, N_c: tokens with r ≠ 0, c ≠ 0).
 * dLogprobs = ∂L/∂logprobs = −w/N − λc/N_c. stats [5] (RLMEC_STATS): L, L_RL, L_reg, mean ρ
 * and the fraction clipped, over the reward tokens.
 */
export function rlmecLoss(
  i: { logprobs: Tensor; refLogprobs: Tensor; rewards: Tensor; imitation: Tensor },
  out: { dLogprobs: Tensor; stats: Tensor },
  o: RLMECLossOptions,
): void {
  const op = 'rlmecLoss';
  const { kernels, N, tensors } = checkTokenLoss(op, rlmecLossFamily, i, out, RLMEC_STATS);
  const cliprange = checkNumber(op, 'cliprange', o.cliprange, 0);
  const imitationWeight = checkNumber(op, 'imitationWeight', o.imitationWeight, 0);
  kernels.rlmec({ ...tensors, N, cliprange, imitationWeight });
}
