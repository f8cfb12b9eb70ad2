// RLP-UML's multi-view bottleneck on the CPU (see gaussianReparameterize and mibLoss in src/ops/mib_losses.ts,
// and kernels/losses/gaussian_reparameterize.wgsl and mib.wgsl). Arithmetic and sums are f64.
import { at, logSigmoid, put, sigmoid, softplus } from '../lib/scalar';

const SIGMA_FLOOR: f64 = 1e-7; // MIB_SIGMA_FLOOR

export function gaussian_reparameterize(mu: usize, rawSigma: usize, eps: usize, z: usize, sigma: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const s = softplus(at(rawSigma, i)) + SIGMA_FLOOR;
    put(sigma, i, s);
    put(z, i, at(mu, i) + s * at(eps, i));
  }
}

export function gaussian_reparameterize_backward(dZ: usize, dSigma: usize, eps: usize, rawSigma: usize, dMu: usize, dRawSigma: usize, n: i32, accumulate: i32): void {
  for (let i = 0; i < n; i++) {
    const g = at(dZ, i);
    // softplus′ = sigmoid.
    let dr = (at(dSigma, i) + g * at(eps, i)) * sigmoid(at(rawSigma, i));
    let dm = g;
    if (accumulate) {
      dm += at(dMu, i);
      dr += at(dRawSigma, i);
    }
    put(dMu, i, dm);
    put(dRawSigma, i, dr);
  }
}

/**
 * L_M = −I_JSD + β·D_SKL and weight·∂L_M/∂(every input). With u_ij = (z_i − μ_j)/σ_j the log σ
 * terms of D_SKL cancel: D_SKL = Σ ½(u12² + u21² − u11² − u22²) / 2B.
 */
export function mib_loss(
  mu1: usize, sigma1: usize, z1: usize, mu2: usize, sigma2: usize, z2: usize, tPos: usize, tNeg: usize,
  dMu1: usize, dSigma1: usize, dZ1: usize, dMu2: usize, dSigma2: usize, dZ2: usize, dTPos: usize, dTNeg: usize, stats: usize,
  B: i32, K: i32, beta: f64, weight: f64,
): void {
  const invB = 1 / <f64>B;
  const g = weight * beta * 0.5 * invB;
  let skl: f64 = 0;
  for (let i = 0; i < B * K; i++) {
    const s1 = at(sigma1, i), s2 = at(sigma2, i);
    const u11 = (at(z1, i) - at(mu1, i)) / s1;
    const u21 = (at(z2, i) - at(mu1, i)) / s1;
    const u12 = (at(z1, i) - at(mu2, i)) / s2;
    const u22 = (at(z2, i) - at(mu2, i)) / s2;
    skl += 0.5 * ((u21 - u11) * (u21 + u11) + (u12 - u22) * (u12 + u22));
    put(dMu1, i, g * (u11 - u21) / s1);
    put(dSigma1, i, g * (u11 - u21) * (u11 + u21) / s1);
    put(dMu2, i, g * (u22 - u12) / s2);
    put(dSigma2, i, g * (u22 - u12) * (u22 + u12) / s2);
    put(dZ1, i, g * (u12 / s2 - u11 / s1));
    put(dZ2, i, g * (u21 / s1 - u22 / s2));
  }
  skl *= 0.5 * invB;
  let pos: f64 = 0, neg: f64 = 0;
  for (let i = 0; i < B; i++) {
    const tp = at(tPos, i), tn = at(tNeg, i);
    pos += logSigmoid(tp);
    neg += softplus(tn);
    put(dTPos, i, -weight * sigmoid(-tp) * invB);
    put(dTNeg, i, weight * sigmoid(tn) * invB);
  }
  const jsd = (pos - neg) * invB;
  put(stats, 0, beta * skl - jsd);
  put(stats, 1, jsd);
  put(stats, 2, skl);
}
