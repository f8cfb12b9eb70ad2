// The gradient half of one RLP-UML reward-model step (ALGORITHMS.md §4): L_BT on a batch of
// labelled pairs through the score head, plus λ·L_M on a batch of view pairs through both
// views' last hidden states and the bottleneck's heads. The trainer applies the two AdamW
// updates after it; a test reads the gradients here, before any update.
import type { Tensor } from '../../backend/backend.js';
import type { CausalLM } from '../../nn/causal_lm.js';
import { disposeRowIndex, rowIndex } from '../../nn/row_index.js';
import { gatherRows, scatterAddRows, type RowIndex } from '../../ops/layers.js';
import { preferenceBatch, type EncodedPreference } from '../preference/preference_batch.js';
import { scorePairs, type RewardStepOptions } from '../reward/step.js';
import type { MIBHeads } from './mib_heads.js';

export interface UMLGradientOptions {
  /** β of L_M at this step (mibBeta's schedule). */
  beta: number;
  /** λ: the bottleneck's weight next to L_BT (mib_lambda). */
  lambda: number;
  /** The heads' noise is drawn under (seed, step). */
  seed: number;
  step: number;
}

/** The two losses' stats tensors; dispose() frees the Bradley–Terry ones (the heads own theirs). */
export interface UMLGradientResult {
  btStats: Tensor;
  mibStats: Tensor;
  dispose(): void;
}

/** Device row indices that split a [2B, C] batch of hidden states into its two views. */
interface ViewSplit {
  B: number;
  firstRows: Tensor;
  secondRows: Tensor;
  firstIndex: RowIndex;
  secondIndex: RowIndex;
  h1: Tensor;
  h2: Tensor;
  dH: Tensor;
}

/** L_BT + λ·L_M's gradients of one reward model and its heads; keeps the view-split buffers between calls. */
export class UMLRewardGradients {
  #split: ViewSplit | undefined;

  constructor(readonly model: CausalLM, readonly heads: MIBHeads, readonly reward: RewardStepOptions) {}

  /** Zeroes the reward model's and the heads' gradients and fills them with those of L_BT(pairs) + λ·L_M(views). */
  run(pairs: EncodedPreference[], views: EncodedPreference[], o: UMLGradientOptions): UMLGradientResult {
    this.model.zeroGrad();
    this.heads.zeroGrad();
    const bt = scorePairs(this.model, pairs, this.reward);
    try {
      this.model.backward({ dScores: bt.dScores });
      const mibStats = this.#viewGradients(views, o);
      return { btStats: bt.stats, mibStats, dispose: bt.dispose };
    } catch (e) {
      bt.dispose();
      throw e;
    }
  }

  /** The bottleneck on one batch of view pairs: its gradients go into the reward model and the heads; returns its stats tensor. */
  #viewGradients(views: EncodedPreference[], o: UMLGradientOptions): Tensor {
    const be = this.model.backend;
    this.model.forward(preferenceBatch(views, this.reward.pad).batch, { logits: false });
    const hidden = this.model.lastHidden();
    const s = this.#splitFor(views.length);
    gatherRows(hidden, s.firstRows, s.h1);
    gatherRows(hidden, s.secondRows, s.h2);
    const out = this.heads.step(s.h1, s.h2, { beta: o.beta, weight: o.lambda, seed: o.seed, step: o.step });
    be.zero(s.dH);
    scatterAddRows(out.dH1, s.firstIndex, s.dH);
    scatterAddRows(out.dH2, s.secondIndex, s.dH);
    this.model.backward({ dLastHidden: s.dH });
    return out.stats;
  }

  #splitFor(B: number): ViewSplit {
    if (this.#split?.B === B) return this.#split;
    this.dispose();
    const be = this.model.backend;
    const C = this.model.arch.hiddenSize;
    const first = Array.from({ length: B }, (_, i) => i);
    const second = first.map((i) => B + i);
    this.#split = {
      B,
      firstRows: be.tensor(first),
      secondRows: be.tensor(second),
      firstIndex: rowIndex(be, first),
      secondIndex: rowIndex(be, second),
      h1: be.zeros([B, C]),
      h2: be.zeros([B, C]),
      dH: be.zeros([2 * B, C]),
    };
    return this.#split;
  }

  /** Frees the split buffers (the model and the heads stay the caller's). */
  dispose(): void {
    const s = this.#split;
    if (!s) return;
    for (const t of [s.firstRows, s.secondRows, s.h1, s.h2, s.dH]) t.dispose();
    disposeRowIndex(s.firstIndex);
    disposeRowIndex(s.secondIndex);
    this.#split = undefined;
  }
}
