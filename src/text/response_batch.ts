// (prompt, response) pairs as one left-padded batch, with the mask of the positions whose
// next token is a response token: what scoring and the RL losses read.
import { BatchError } from '../errors.js';
import type { TokenBatch } from '../nn/batch.js';

export interface PromptResponse {
  prompt: ArrayLike<number>;
  response: ArrayLike<number>;
}

export interface ResponseBatch {
  B: number;
  T: number;
  /** Left-padded prompt + response; labels are the response tokens (−100 elsewhere). */
  batch: TokenBatch;
  /** [B·T]: 1 at position t when token t + 1 is a response token (position t predicts it). */
  responseMask: Float32Array;
  /** [B·T]: token t + 1 where responseMask is 1, else 0 (a valid id, never read). */
  targets: Float32Array;
  /** Row b's first predicting position (b·T + start) and its response length. */
  starts: number[];
  lengths: number[];
}

export function responseBatch(pairs: PromptResponse[], pad: number): ResponseBatch {
  if (!Array.isArray(pairs) || pairs.length === 0) throw new BatchError('score: give a non-empty list of { prompt, response } pairs');
  pairs.forEach((p, i) => {
    if (!p || p.prompt === undefined || p.response === undefined) throw new BatchError(`score: pair ${i} needs both prompt and response token ids`);
    if (p.prompt.length === 0) throw new BatchError(`score: pair ${i} has an empty prompt; the first response token needs a token before it (e.g. BOS or EOS)`);
  });
  const B = pairs.length;
  const T = Math.max(...pairs.map((p) => p.prompt.length + p.response.length));
  const responseMask = new Float32Array(B * T);
  const targets = new Float32Array(B * T);
  const starts: number[] = [];
  const inputIds: number[][] = [];
  const attentionMask: number[][] = [];
  const labels: number[][] = [];
  pairs.forEach(({ prompt, response }, b) => {
    const left = T - prompt.length - response.length;
    const ids = [...new Array<number>(left).fill(pad), ...Array.from(prompt), ...Array.from(response)];
    inputIds.push(ids);
    attentionMask.push(ids.map((_, t) => Number(t >= left)));
    labels.push(ids.map((id, t) => (t >= left + prompt.length ? id : -100)));
    const start = left + prompt.length - 1;
    starts.push(start);
    for (let k = 0; k < response.length; k++) {
      responseMask[b * T + start + k] = 1;
      targets[b * T + start + k] = response[k]!;
    }
  });
  return { B, T, batch: { inputIds, attentionMask, labels }, responseMask, targets, starts, lengths: pairs.map((p) => p.response.length) };
}
