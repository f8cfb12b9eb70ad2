// Float64 references of RLP-UML's multi-view information bottleneck (ALGORITHMS.md §4),
// written from the definitions (full Gaussian log-densities, no simplification): the
// reparameterisation, the loss L_M, the MLP, and the whole composite of MIBHeads.step.
import { geluRef } from './layer_reference.js';

type Vec = ArrayLike<number>;

export const softplus = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
const SIGMA_FLOOR = 1e-7;

export function reparameterize(mu: Vec, raw: Vec, eps: Vec): { z: number[]; sigma: number[] } {
  const sigma = Array.from(raw, (r) => softplus(r) + SIGMA_FLOOR);
  return { z: Array.from(mu, (m, i) => m + sigma[i]! * eps[i]!), sigma };
}

/** log N(x; μ, σ²). */
const logNormal = (x: number, mu: number, sigma: number) => -0.5 * ((x - mu) / sigma) ** 2 - Math.log(sigma) - 0.5 * Math.log(2 * Math.PI);

export interface MIBInputs {
  mu1: Vec; sigma1: Vec; z1: Vec;
  mu2: Vec; sigma2: Vec; z2: Vec;
  tPos: Vec; tNeg: Vec;
}

/** L_M = −I_JSD + β·D_SKL and its parts, for B rows of K dimensions. */
export function mibLoss(x: MIBInputs, B: number, K: number, beta: number): { loss: number; jsd: number; skl: number } {
  let jsd = 0;
  for (let i = 0; i < B; i++) jsd += -softplus(-x.tPos[i]!) / B - softplus(x.tNeg[i]!) / B;
  let skl = 0;
  for (let i = 0; i < B; i++) {
    let a = 0; // log p1(z1) − log p2(z1)
    let b = 0; // log p2(z2) − log p1(z2)
    for (let k = 0; k < K; k++) {
      const j = i * K + k;
      a += logNormal(x.z1[j]!, x.mu1[j]!, x.sigma1[j]!) - logNormal(x.z1[j]!, x.mu2[j]!, x.sigma2[j]!);
      b += logNormal(x.z2[j]!, x.mu2[j]!, x.sigma2[j]!) - logNormal(x.z2[j]!, x.mu1[j]!, x.sigma1[j]!);
    }
    skl += (0.5 * (a + b)) / B;
  }
  return { loss: -jsd + beta * skl, jsd, skl };
}

/** An MLP's weights: per layer W [in, out] (row-major) and b [out]. */
export interface MLPWeights {
  sizes: number[];
  W: Float64Array[];
  b: Float64Array[];
}

/** x [N, sizes[0]] → [N, sizes.at(-1)], GELU (tanh) between layers. */
export function mlpRef(w: MLPWeights, x: Vec, N: number): Float64Array {
  let a: Float64Array = Float64Array.from(x);
  const L = w.sizes.length - 1;
  for (let l = 0; l < L; l++) {
    const [I, O] = [w.sizes[l]!, w.sizes[l + 1]!];
    const out = new Float64Array(N * O);
    for (let n = 0; n < N; n++) {
      for (let o = 0; o < O; o++) {
        let s = w.b[l]![o]!;
        for (let i = 0; i < I; i++) s += a[n * I + i]! * w.W[l]![i * O + o]!;
        out[n * O + o] = s;
      }
    }
    a = l < L - 1 ? geluRef(out) : out;
  }
  return a;
}

/** Rows [a_n | b_n] of a [N, wa] and a [N, wb] matrix. */
export function concatColumns(a: Vec, wa: number, b: Vec, wb: number, N: number): Float64Array {
  const w = wa + wb;
  const out = new Float64Array(N * w);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < wa; k++) out[n * w + k] = a[n * wa + k]!;
    for (let k = 0; k < wb; k++) out[n * w + wa + k] = b[n * wb + k]!;
  }
  return out;
}

/** Row i of the result is row (i − 1 mod N) of x [N, K]. */
export function rollRows(x: Vec, N: number, K: number): Float64Array {
  const out = new Float64Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) out[n * K + k] = x[((n + N - 1) % N) * K + k]!;
  return out;
}

export interface HeadsWeights {
  mu: MLPWeights;
  sigma: MLPWeights;
  critic: MLPWeights;
}

/** MIBHeads.step's objective weight·L_M from the hidden states h1, h2 [B, C] with fixed noise. */
export function mibComposite(
  w: HeadsWeights, h1: Vec, h2: Vec, eps1: Vec, eps2: Vec, B: number, o: { beta: number; weight: number },
): { value: number; loss: number; jsd: number; skl: number } {
  const K = w.mu.sizes.at(-1)!;
  const mu1 = mlpRef(w.mu, h1, B);
  const mu2 = mlpRef(w.mu, h2, B);
  const v1 = reparameterize(mu1, mlpRef(w.sigma, h1, B), eps1);
  const v2 = reparameterize(mu2, mlpRef(w.sigma, h2, B), eps2);
  const tPos = mlpRef(w.critic, concatColumns(v1.z, K, v2.z, K, B), B);
  const tNeg = mlpRef(w.critic, concatColumns(rollRows(v1.z, B, K), K, v2.z, K, B), B);
  const r = mibLoss({ mu1, sigma1: v1.sigma, z1: v1.z, mu2, sigma2: v2.sigma, z2: v2.z, tPos, tNeg }, B, K, o.beta);
  return { value: o.weight * r.loss, ...r };
}
