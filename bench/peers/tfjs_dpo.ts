/**
 * The TF.js side of the DPO benchmark: the same DPO step (ALGORITHMS.md §6) written with
 * TF.js ops on two instances of the peer GPT-2 (bench/peers/tfjs_gpt2.ts), the policy trained
 * and the reference only run forward, on P pairs of T-token rows whose response is the last
 * `responseLength` tokens.
 */
import type * as TFCore from '@tensorflow/tfjs-core';
import { createTfjsGPT2, type GPT2Config, type TF } from './tfjs_gpt2.js';

export interface PreferenceRows {
  /** 2P rows of T ids, chosen rows first, row-major. */
  inputIds: Int32Array;
  /** The next token at each position (the target its log-prob is taken of). */
  targets: Int32Array;
  /** 1 at the positions that predict a response token. */
  mask: Float32Array;
}

export interface TfjsDPO {
  /** One DPO step; resolves with the loss once the step's work is done. */
  step(): Promise<number>;
  dispose(): void;
}

export function createTfjsDPO(tf: TF, config: GPT2Config, rows: PreferenceRows, beta = 0.1): TfjsDPO {
  const { T, V } = config;
  const R = rows.inputIds.length / T;
  const P = R / 2;
  const policy = createTfjsGPT2(tf, config, { weightDecay: 0 });
  const reference = createTfjsGPT2(tf, config);
  const targets = tf.tensor1d(rows.targets, 'int32');
  const mask = tf.tensor2d(rows.mask, [R, T]);
  /** Σ over each row's response of log softmax(logits)[target]: [2P]. */
  const sequenceLogps = (logits: TFCore.Tensor2D) =>
    tf.sum(tf.mul(tf.reshape(tf.sum(tf.mul(tf.logSoftmax(logits), tf.cast(tf.oneHot(targets, V), 'float32')), -1), [R, T]), mask), 1);
  return {
    async step() {
      // The reference's sequence log-probs, outside the gradient.
      const refLogps = tf.tidy(() => sequenceLogps(reference.logitsTensor(rows.inputIds, R, T)));
      try {
        return await policy.stepWith(rows.inputIds, R, T, (logits) => {
          const h = tf.sub(sequenceLogps(logits), refLogps); // [2P]: s − s_ref
          const margin = tf.sub(tf.slice(h, [0], [P]), tf.slice(h, [P], [P]));
          // −log σ(z) as softplus(−z): tf.logSigmoid's gradient failed here on a disposed tensor.
          return tf.mean(tf.softplus(tf.mul(margin, -beta))) as TFCore.Scalar;
        });
      } finally {
        refLogps.dispose();
      }
    },
    dispose() {
      policy.dispose();
      reference.dispose();
      tf.dispose([targets, mask]);
    },
  };
}
