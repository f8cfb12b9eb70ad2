// RLP-UML's multi-view information bottleneck (ALGORITHMS.md §4): the Gaussian
// reparameterisation z = μ + σ·ε with its backward, and the bottleneck loss L_M over view pairs
// (kernels/losses/gaussian_reparameterize.wgsl, mib.wgsl; wasm/losses/mib.ts).
import { ShapeError } from '../errors.js';
import { opFamily } from '../backend/op_family.js';
import type { Tensor } from '../backend/tensor.js';
import { checkNumber, distinctOutputs, expectShape, expectSize, expectSizes, kernelsOf, rowsOf } from './checks.js';

/** L_M = −I_JSD + β·D_SKL, I_JSD, D_SKL: what mibLoss's stats tensor holds, in order. */
export const MIB_STATS = ['mib_loss', 'mi_jsd', 'skl'] as const;

/** σ = softplus(raw) + MIB_SIGMA_FLOOR (the spec's 1e-7): σ stays positive when softplus underflows. */
export const MIB_SIGMA_FLOOR = 1e-7;

export interface MIBLossOptions {
  /** β of L_M = −I_JSD + β·D_SKL (`mib_beta`, the spec's 1; see mibBeta for its annealing). */
  beta: number;
  /**
   * Scales every gradient (not the stats): they become ∂(weight·L_M)/∂·, so a caller that
   * adds λ·L_M to another loss passes λ here. Default 1.
   */
  weight?: number;
}

export interface ReparameterizeBackwardOptions {
  /** Add into dMu and dRawSigma (gradient accumulation) instead of overwriting them. */
  accumulate?: boolean;
}

/** The tensors of a mibLoss call, all [B, K] but the critic's outputs (B values each). */
export interface MIBLossInputs {
  mu1: Tensor; sigma1: Tensor; z1: Tensor;
  mu2: Tensor; sigma2: Tensor; z2: Tensor;
  /** T(z1_i, z2_i). */
  tPos: Tensor;
  /** T(z1_{i−1 mod B}, z2_i). */
  tNeg: Tensor;
}

export interface MIBLossOutputs {
  dMu1: Tensor; dSigma1: Tensor; dZ1: Tensor;
  dMu2: Tensor; dSigma2: Tensor; dZ2: Tensor;
  dTPos: Tensor; dTNeg: Tensor;
  /** [3]: MIB_STATS. */
  stats: Tensor;
}

/** A checked mibLoss call: B rows of K latent dimensions. */
interface MIBLossPlan extends MIBLossInputs, MIBLossOutputs {
  B: number;
  K: number;
  beta: number;
  weight: number;
}

export interface MIBKernels {
  gaussian_reparameterize(p: { mu: Tensor; rawSigma: Tensor; eps: Tensor; z: Tensor; sigma: Tensor; n: number }): void;
  gaussian_reparameterize_backward(p: { dZ: Tensor; dSigma: Tensor; eps: Tensor; rawSigma: Tensor; dMu: Tensor; dRawSigma: Tensor; n: number; accumulate: boolean }): void;
  mib_loss(p: MIBLossPlan): void;
}

/** Invocations per workgroup of gaussian_reparameterize.wgsl (one value each). */
const REPARAM_WG = 64;

export const mibFamily = opFamily<MIBKernels>('MIB', {
  webgpu: (gpu) => {
    const elementwise = (op: string, entry: string, bindings: Record<string, Tensor>, n: number, accumulate?: boolean) => {
      const grid = gpu.grid(Math.ceil(n / REPARAM_WG));
      gpu.dispatch(op, entry, bindings, { n, row: grid[0] * REPARAM_WG, ...(accumulate === undefined ? {} : { accumulate: Number(accumulate) }) }, grid);
    };
    return {
      gaussian_reparameterize: ({ n, ...bindings }) => elementwise('gaussianReparameterize', 'gaussian_reparameterize', bindings, n),
      gaussian_reparameterize_backward: ({ n, accumulate, ...bindings }) =>
        elementwise('gaussianReparameterizeBackward', 'gaussian_reparameterize_backward', bindings, n, accumulate),
      // Four single-workgroup dispatches, each within the 8 storage buffers a stage is
      // guaranteed (mib.wgsl): the two densities, the latents, then the critic, which
      // completes the stats.
      mib_loss(p) {
        const params = (second: number) => ({ B: p.B, K: p.K, second, beta: p.beta, weight: p.weight });
        const run = (entry: string, bindings: Record<string, Tensor>, second = 0) => gpu.dispatch('mibLoss', entry, bindings, params(second), [1, 1]);
        run('mib_loss__density', { zA: p.z1, zB: p.z2, muA: p.mu1, sigmaA: p.sigma1, gradA: p.dMu1, gradB: p.dSigma1, stats: p.stats });
        run('mib_loss__density', { zA: p.z2, zB: p.z1, muA: p.mu2, sigmaA: p.sigma2, gradA: p.dMu2, gradB: p.dSigma2, stats: p.stats }, 1);
        run('mib_loss__latent', { zA: p.z1, zB: p.z2, muA: p.mu1, sigmaA: p.sigma1, muB: p.mu2, sigmaB: p.sigma2, gradA: p.dZ1, gradB: p.dZ2 });
        run('mib_loss__critic', { tPos: p.tPos, tNeg: p.tNeg, dTPos: p.dTPos, dTNeg: p.dTNeg, stats: p.stats });
      },
    };
  },
  wasm: (cpu) => cpu.direct<MIBKernels>(['gaussian_reparameterize', 'gaussian_reparameterize_backward', 'mib_loss']),
});

/**
 * z = mu + σ·eps with σ = softplus(rawSigma) + MIB_SIGMA_FLOOR (softplus computed without
 * overflow), elementwise; every tensor has mu's shape. eps are standard normals the caller
 * draws (philoxNormals).
 */
export function gaussianReparameterize(mu: Tensor, rawSigma: Tensor, eps: Tensor, out: { z: Tensor; sigma: Tensor }): void {
  const op = 'gaussianReparameterize';
  const ins = [mu, rawSigma, eps];
  const k = kernelsOf(op, mibFamily, ...ins, out.z, out.sigma);
  for (const [name, t] of [['rawSigma', rawSigma], ['eps', eps], ['z', out.z], ['sigma', out.sigma]] as const) expectShape(op, name, t, mu.shape);
  distinctOutputs(op, [out.z, out.sigma], ins);
  k.gaussian_reparameterize({ mu, rawSigma, eps, z: out.z, sigma: out.sigma, n: mu.size });
}

/**
 * The backward of gaussianReparameterize given ∂L/∂z and a direct ∂L/∂σ (a loss that reads
 * σ itself): dMu = dZ, dRawSigma = (dSigma + dZ·eps)·sigmoid(rawSigma). With `accumulate`
 * both are added into (so dMu may already hold a loss's direct ∂L/∂μ), else overwritten.
 */
export function gaussianReparameterizeBackward(
  dZ: Tensor, dSigma: Tensor, eps: Tensor, rawSigma: Tensor, out: { dMu: Tensor; dRawSigma: Tensor }, o: ReparameterizeBackwardOptions = {},
): void {
  const op = 'gaussianReparameterizeBackward';
  const ins = [dZ, dSigma, eps, rawSigma];
  const k = kernelsOf(op, mibFamily, ...ins, out.dMu, out.dRawSigma);
  for (const [name, t] of [['dSigma', dSigma], ['eps', eps], ['rawSigma', rawSigma], ['dMu', out.dMu], ['dRawSigma', out.dRawSigma]] as const) expectShape(op, name, t, dZ.shape);
  distinctOutputs(op, [out.dMu, out.dRawSigma], ins);
  k.gaussian_reparameterize_backward({ dZ, dSigma, eps, rawSigma, dMu: out.dMu, dRawSigma: out.dRawSigma, n: dZ.size, accumulate: !!o.accumulate });
}

/**
 * RLP-UML's loss over B view pairs with K latent dimensions (mu·, sigma·, z· [B, K]; the
 * critic's tPos_i = T(z1_i, z2_i) and tNeg_i = T(z1_{i−1 mod B}, z2_i), B values each):
 * L_M = −I_JSD + β·D_SKL with I_JSD = mean(−softplus(−tPos)) − mean(softplus(tNeg)) and
 * D_SKL = ½·mean_i[(log p1(z1_i) − log p2(z1_i)) + (log p2(z2_i) − log p1(z2_i))], p_j the
 * factorised Gaussian N(mu_j, diag sigma_j²). Writes every partial derivative of
 * weight·L_M, the z and t treated as inputs (the caller chains through the critic and the
 * reparameterisation). stats [3] (MIB_STATS): L_M, I_JSD, D_SKL. B ≥ 2.
 */
export function mibLoss(i: MIBLossInputs, out: MIBLossOutputs, o: MIBLossOptions): void {
  const op = 'mibLoss';
  const ins = [i.mu1, i.sigma1, i.z1, i.mu2, i.sigma2, i.z2, i.tPos, i.tNeg];
  const outs = [out.dMu1, out.dSigma1, out.dZ1, out.dMu2, out.dSigma2, out.dZ2, out.dTPos, out.dTNeg, out.stats];
  const k = kernelsOf(op, mibFamily, ...ins, ...outs);
  const [B, K] = rowsOf(op, 'mu1', i.mu1);
  if (B < 2) {
    throw new ShapeError(`${op}: mu1 has ${B} row${B === 1 ? '' : 's'}; the negatives pair z1 of one row with z2 of another, so give at least 2 view pairs (B ≥ 2)`);
  }
  const latent = [['sigma1', i.sigma1], ['z1', i.z1], ['mu2', i.mu2], ['sigma2', i.sigma2], ['z2', i.z2],
    ['dMu1', out.dMu1], ['dSigma1', out.dSigma1], ['dZ1', out.dZ1], ['dMu2', out.dMu2], ['dSigma2', out.dSigma2], ['dZ2', out.dZ2]] as const;
  for (const [name, t] of latent) expectShape(op, name, t, [B, K]);
  expectSizes(op, { tPos: i.tPos, tNeg: i.tNeg, dTPos: out.dTPos, dTNeg: out.dTNeg }, B);
  expectSize(op, 'stats', out.stats, MIB_STATS.length);
  const beta = checkNumber(op, 'beta', o.beta, 0);
  const weight = checkNumber(op, 'weight', o.weight ?? 1, 0);
  distinctOutputs(op, outs, ins);
  k.mib_loss({
    mu1: i.mu1, sigma1: i.sigma1, z1: i.z1, mu2: i.mu2, sigma2: i.sigma2, z2: i.z2, tPos: i.tPos, tNeg: i.tNeg,
    dMu1: out.dMu1, dSigma1: out.dSigma1, dZ1: out.dZ1, dMu2: out.dMu2, dSigma2: out.dSigma2, dZ2: out.dZ2, dTPos: out.dTPos, dTNeg: out.dTNeg, stats: out.stats,
    B, K, beta, weight,
  });
}
