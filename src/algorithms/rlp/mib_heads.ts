import type { Backend, Tensor } from '../../backend/backend.js';
import { ConfigError, ShapeError } from '../../errors.js';
import { AdamW, type AdamWConfig } from '../../nn/adamw.js';
import { MLP, mlpTensors, type MLPShape, type MLPTape } from '../../nn/mlp.js';
import { ParameterStore } from '../../nn/parameter_store.js';
import { disposeRowIndex, rowIndex } from '../../nn/row_index.js';
import { checkNumber } from '../../ops/checks.js';
import { gatherRows, scatterAddRows, type RowIndex } from '../../ops/layers.js';
import { gaussianReparameterize, gaussianReparameterizeBackward, mibLoss } from '../../ops/mib_losses.js';
import { philoxNormals } from '../../random/normals.js';

/**
 * Defaults of the bottleneck's sizes. K = 16 latent dimensions and H = 64 hidden units: the
 * latent only has to carry what two responses to one prompt share, and the heads stay tiny
 * next to any reward model (about 0.1M parameters for C = 768, run on one row per sequence
 * where the model runs on every token), so they never bound a step. Widen them through the
 * config for a large reward model.
 */
export const MIB_HEADS_DEFAULTS = { mib_latent: 16, mib_hidden: 64 } as const;

export interface MIBHeadsConfig {
  /** C: the width of the hidden states the heads read (the reward model's n_embd). */
  n_embd: number;
  /** K: latent dimensions of z. */
  mib_latent?: number;
  /** H: hidden width of the μ, σ and critic MLPs (3 layers each). */
  mib_hidden?: number;
  /** Seed of the heads' initial weights (default 0). */
  seed?: number;
  /** The heads' AdamW (default ADAMW_DEFAULTS). */
  optimizer?: Partial<AdamWConfig>;
}

export interface MIBStepOptions {
  /** β of L_M = −I_JSD + β·D_SKL (mibBeta gives the schedule). */
  beta: number;
  /** λ: the step returns ∂(λ·L_M)/∂h and adds ∂(λ·L_M)/∂parameters (default 1). */
  weight?: number;
  /** The noise ε of step `step` is Philox (seed, counter (i, step)): the same on every backend and run. */
  seed: number;
  step: number;
}

/** A step's outputs: device tensors the heads own, overwritten by the next step. */
export interface MIBStepResult {
  /** [3]: MIB_STATS (L_M, I_JSD, D_SKL). */
  stats: Tensor;
  /** ∂(λ·L_M)/∂h1 and ∂(λ·L_M)/∂h2 [B, C], for the reward model's backward({ dLastHidden }). */
  dH1: Tensor;
  dH2: Tensor;
}

/**
 * RLP-UML's multi-view information bottleneck (ALGORITHMS.md §4) on a reward model's last
 * hidden states h1, h2 [B, C] of two views of B prompts: μ- and σ-MLPs (C → H → H → K) give a
 * factorised Gaussian per view, z = μ + σ·ε, and a critic T (2K → H → H → 1) scores pairs
 * [z1; z2]. All three MLPs share one parameter buffer, so one AdamW (`optimizer`) updates them.
 */
export class MIBHeads {
  readonly store: ParameterStore;
  readonly mu: MLP;
  readonly sigma: MLP;
  /**
   * The critic's first weight is split into its z1 and z2 halves (MLPShape.inputs): two
   * matmuls accumulate, where a concatenation would need column copies into a [B, 2K] buffer
   * and back for every pass (positives and negatives, forward and backward).
   */
  readonly critic: MLP;
  readonly optimizer: AdamW;
  readonly inputSize: number;
  readonly latent: number;
  readonly hidden: number;
  #buffers: StepBuffers | undefined;

  constructor(backend: Backend, config: MIBHeadsConfig) {
    const C = positive('n_embd', config.n_embd);
    const K = positive('mib_latent', config.mib_latent ?? MIB_HEADS_DEFAULTS.mib_latent);
    const H = positive('mib_hidden', config.mib_hidden ?? MIB_HEADS_DEFAULTS.mib_hidden);
    this.inputSize = C;
    this.latent = K;
    this.hidden = H;
    const shapes: Record<'mu' | 'sigma' | 'critic', MLPShape> = {
      mu: { sizes: [C, H, H, K] },
      sigma: { sizes: [C, H, H, K] },
      critic: { sizes: [2 * K, H, H, 1], inputs: [K, K] },
    };
    this.store = ParameterStore.create(backend, Object.entries(shapes).flatMap(([name, s]) => mlpTensors(s, `${name}.`)), config.seed ?? 0);
    this.mu = new MLP(this.store, shapes.mu, 'mu.');
    this.sigma = new MLP(this.store, shapes.sigma, 'sigma.');
    this.critic = new MLP(this.store, shapes.critic, 'critic.');
    this.optimizer = new AdamW(this.store, config.optimizer);
  }

  get backend(): Backend {
    return this.store.backend;
  }

  /**
   * Forward, L_M and backward for one batch of view pairs: adds ∂(λ·L_M)/∂parameters into the
   * heads' gradients and returns ∂(λ·L_M)/∂h1, ∂/∂h2 for the reward model. No readback:
   * read `stats` when they are wanted. h1 and h2 must stay unchanged until the step returns.
   */
  step(h1: Tensor, h2: Tensor, o: MIBStepOptions): MIBStepResult {
    const be = this.backend;
    const B = this.#checkViews(h1, h2);
    const beta = checkNumber('MIBHeads.step', 'beta', o.beta, 0);
    const weight = checkNumber('MIBHeads.step', 'weight', o.weight ?? 1, 0);
    if (!Number.isSafeInteger(o.seed) || o.seed < 0) throw new ConfigError(`MIBHeads.step: seed must be an integer in [0, 2^53), got ${o.seed}`);
    if (!Number.isInteger(o.step) || o.step < 0 || o.step >= 2 ** 32) throw new ConfigError(`MIBHeads.step: step must be an integer in [0, 2^32) (the noise counter), got ${o.step}`);
    const s = (this.#buffers = this.#buffers?.B === B ? this.#buffers : this.#newBuffers(B));
    const n = B * this.latent;
    const eps = philoxNormals(2 * n, { seed: o.seed, stream: 0, offset: o.step });
    be.write(s.eps1, eps.subarray(0, n));
    be.write(s.eps2, eps.subarray(n));

    const mu1 = this.mu.forward(h1, s.tapes.mu1);
    const raw1 = this.sigma.forward(h1, s.tapes.sigma1);
    const mu2 = this.mu.forward(h2, s.tapes.mu2);
    const raw2 = this.sigma.forward(h2, s.tapes.sigma2);
    gaussianReparameterize(mu1, raw1, s.eps1, { z: s.z1, sigma: s.sigma1 });
    gaussianReparameterize(mu2, raw2, s.eps2, { z: s.z2, sigma: s.sigma2 });
    // Negatives pair z1 of row i − 1 with z2 of row i.
    gatherRows(s.z1, s.roll, s.z1Rolled);
    const tPos = this.critic.forward([s.z1, s.z2], s.tapes.pos);
    const tNeg = this.critic.forward([s.z1Rolled, s.z2], s.tapes.neg);
    mibLoss(
      { mu1, sigma1: s.sigma1, z1: s.z1, mu2, sigma2: s.sigma2, z2: s.z2, tPos, tNeg },
      { dMu1: s.dMu1, dSigma1: s.dSigma1, dZ1: s.dZ1, dMu2: s.dMu2, dSigma2: s.dSigma2, dZ2: s.dZ2, dTPos: s.dTPos, dTNeg: s.dTNeg, stats: s.stats },
      { beta, weight },
    );

    // The critic's ∂/∂z join the loss's direct ones; the negatives' z1 rows go back through the roll.
    this.critic.backward(s.dTPos, { tape: s.tapes.pos, dX: [s.dZ1, s.dZ2], accumulate: true });
    be.zero(s.dZ1Rolled);
    this.critic.backward(s.dTNeg, { tape: s.tapes.neg, dX: [s.dZ1Rolled, s.dZ2], accumulate: true });
    scatterAddRows(s.dZ1Rolled, s.unroll, s.dZ1);
    // Through z = μ + σ·ε: dμ adds onto the loss's direct ∂/∂μ; draw starts from zero.
    for (const v of [
      { dZ: s.dZ1, dSigma: s.dSigma1, eps: s.eps1, raw: raw1, dMu: s.dMu1, dRaw: s.dRaw1, h: s.dH1, mu: s.tapes.mu1, sigma: s.tapes.sigma1 },
      { dZ: s.dZ2, dSigma: s.dSigma2, eps: s.eps2, raw: raw2, dMu: s.dMu2, dRaw: s.dRaw2, h: s.dH2, mu: s.tapes.mu2, sigma: s.tapes.sigma2 },
    ]) {
      be.zero(v.dRaw);
      gaussianReparameterizeBackward(v.dZ, v.dSigma, v.eps, v.raw, { dMu: v.dMu, dRawSigma: v.dRaw }, { accumulate: true });
      this.mu.backward(v.dMu, { tape: v.mu, dX: v.h });
      this.sigma.backward(v.dRaw, { tape: v.sigma, dX: v.h, accumulate: true });
    }
    return { stats: s.stats, dH1: s.dH1, dH2: s.dH2 };
  }

  zeroGrad(): void {
    this.store.zeroGrad();
  }

  dispose(): void {
    this.#buffers?.dispose();
    this.#buffers = undefined;
    this.optimizer.dispose();
    this.store.dispose();
  }

  /** B, once h1 and h2 are both [B, C] with B ≥ 2. */
  #checkViews(h1: Tensor, h2: Tensor): number {
    const C = this.inputSize;
    for (const [name, h] of [['h1', h1], ['h2', h2]] as const) {
      if (h.shape.length !== 2 || h.shape[1] !== C) throw new ShapeError(`MIBHeads.step: ${name} has shape [${h.shape.join(', ')}], expected [B, ${C}] (the reward model's last hidden states)`);
    }
    const B = h1.shape[0]!;
    if (h2.shape[0] !== B) throw new ShapeError(`MIBHeads.step: h1 has ${B} rows and h2 ${h2.shape[0]}; give both views of the same prompts, row by row`);
    if (B < 2) throw new ShapeError(`MIBHeads.step: ${B} view pair; the critic's negatives pair each prompt's z1 with another prompt's z2, so give at least 2 prompts (B ≥ 2)`);
    return B;
  }

  #newBuffers(B: number): StepBuffers {
    this.#buffers?.dispose();
    return new StepBuffers(this.backend, B, this.latent, this.inputSize, this);
  }
}

/** Every tensor one step of B view pairs needs, allocated once per B. */
class StepBuffers {
  readonly owned: Tensor[] = [];
  readonly eps1: Tensor; readonly eps2: Tensor;
  readonly z1: Tensor; readonly z2: Tensor; readonly sigma1: Tensor; readonly sigma2: Tensor;
  readonly z1Rolled: Tensor; readonly dZ1Rolled: Tensor;
  readonly dMu1: Tensor; readonly dSigma1: Tensor; readonly dZ1: Tensor; readonly dRaw1: Tensor;
  readonly dMu2: Tensor; readonly dSigma2: Tensor; readonly dZ2: Tensor; readonly dRaw2: Tensor;
  readonly dTPos: Tensor; readonly dTNeg: Tensor;
  readonly dH1: Tensor; readonly dH2: Tensor;
  readonly stats: Tensor;
  /** Row i of z1Rolled is row i − 1 (mod B) of z1, and the grouping that adds it back. */
  readonly roll: Tensor;
  readonly unroll: RowIndex;
  readonly tapes: Record<'mu1' | 'mu2' | 'sigma1' | 'sigma2' | 'pos' | 'neg', MLPTape>;

  constructor(backend: Backend, readonly B: number, K: number, C: number, heads: MIBHeads) {
    const t = (shape: number[]) => {
      const x = backend.zeros(shape);
      this.owned.push(x);
      return x;
    };
    const latent = () => t([B, K]);
    this.eps1 = latent(); this.eps2 = latent();
    this.z1 = latent(); this.z2 = latent(); this.sigma1 = latent(); this.sigma2 = latent();
    this.z1Rolled = latent(); this.dZ1Rolled = latent();
    this.dMu1 = latent(); this.dSigma1 = latent(); this.dZ1 = latent(); this.dRaw1 = latent();
    this.dMu2 = latent(); this.dSigma2 = latent(); this.dZ2 = latent(); this.dRaw2 = latent();
    this.dTPos = t([B, 1]);
    this.dTNeg = t([B, 1]);
    this.dH1 = t([B, C]);
    this.dH2 = t([B, C]);
    this.stats = t([3]);
    const previous = Array.from({ length: B }, (_, i) => (i + B - 1) % B);
    this.roll = backend.tensor(previous);
    this.owned.push(this.roll);
    this.unroll = rowIndex(backend, previous);
    this.tapes = {
      mu1: heads.mu.newTape(B), mu2: heads.mu.newTape(B), sigma1: heads.sigma.newTape(B), sigma2: heads.sigma.newTape(B),
      pos: heads.critic.newTape(B), neg: heads.critic.newTape(B),
    };
  }

  dispose(): void {
    for (const x of this.owned) x.dispose();
    disposeRowIndex(this.unroll);
    for (const tape of Object.values(this.tapes)) tape.dispose();
  }
}

function positive(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ConfigError(`MIBHeads: ${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}
