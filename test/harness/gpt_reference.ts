// A float64 GPT-2 forward pass written as plainly as possible (loops, nothing shared with
// src/; LayerNorm and GELU are the layer references), the reference the device model's loss, logits, head outputs and — through finite
// differences — every gradient are checked against.
import type { PreparedBatch } from '../../src/nn/batch.js';
import type { GPTConfig } from '../../src/nn/config.js';
import { geluRef, layerNormRef } from './layer_reference.js';

export type Weights = Map<string, Float64Array>;

export interface RefOutputs {
  logits: Float64Array;
  /** Σ weights·cross-entropy (the device's lmLoss for the batch's weights). */
  loss: number;
  /** Final hidden states [B·T, C]. */
  hidden: Float64Array;
  scores?: Float64Array;
  values?: Float64Array;
}

function layerNorm(x: Float64Array, w: Float64Array, b: Float64Array, C: number, eps: number): Float64Array {
  return layerNormRef(x, w, b, C, eps).out;
}

/** x [N, K] · W [K, M] + b (Conv1D layout). */
function linear(x: Float64Array, W: Float64Array, b: Float64Array | undefined, N: number, K: number, M: number): Float64Array {
  const out = new Float64Array(N * M);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      let s = b ? b[m]! : 0;
      for (let k = 0; k < K; k++) s += x[n * K + k]! * W[k * M + m]!;
      out[n * M + m] = s;
    }
  }
  return out;
}

export function gptReference(cfg: GPTConfig, w: Weights, batch: PreparedBatch): RefOutputs {
  const { B, T } = batch;
  const C = cfg.n_embd;
  const H = cfg.n_head;
  const D = C / H;
  const V = cfg.vocab_size;
  const N = B * T;
  const eps = cfg.layer_norm_epsilon;
  const get = (name: string) => {
    const t = w.get(name);
    if (!t) throw new Error(`reference: missing ${name}`);
    return t;
  };
  let x = new Float64Array(N * C);
  const wte = get('wte.weight');
  const wpe = get('wpe.weight');
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) x[n * C + c] = wte[batch.ids[n]! * C + c]! + wpe[batch.pos[n]! * C + c]!;
  }
  for (let l = 0; l < cfg.n_layer; l++) {
    const p = (s: string) => get(`h.${l}.${s}`);
    const ln1 = layerNorm(x, p('ln_1.weight'), p('ln_1.bias'), C, eps);
    const qkv = linear(ln1, p('attn.c_attn.weight'), p('attn.c_attn.bias'), N, C, 3 * C);
    const y = new Float64Array(N * C);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        for (let i = 0; i < T; i++) {
          const qi = (b * T + i) * 3 * C + h * D;
          const visible: number[] = [];
          for (let j = 0; j <= i; j++) if (batch.keyMask[b * T + j]! >= 0.5) visible.push(j);
          if (visible.length === 0) continue;
          const s = visible.map((j) => {
            let dot = 0;
            for (let d = 0; d < D; d++) dot += qkv[qi + d]! * qkv[(b * T + j) * 3 * C + C + h * D + d]!;
            return dot / Math.sqrt(D);
          });
          const m = Math.max(...s);
          const e = s.map((v) => Math.exp(v - m));
          const z = e.reduce((a, v) => a + v, 0);
          visible.forEach((j, k) => {
            for (let d = 0; d < D; d++) y[(b * T + i) * C + h * D + d] = y[(b * T + i) * C + h * D + d]! + (e[k]! / z) * qkv[(b * T + j) * 3 * C + 2 * C + h * D + d]!;
          });
        }
      }
    }
    const attn = linear(y, p('attn.c_proj.weight'), p('attn.c_proj.bias'), N, C, C);
    const mid = x.map((v, i) => v + attn[i]!);
    const ln2 = layerNorm(mid, p('ln_2.weight'), p('ln_2.bias'), C, eps);
    const fc = geluRef(linear(ln2, p('mlp.c_fc.weight'), p('mlp.c_fc.bias'), N, C, 4 * C));
    const proj = linear(fc, p('mlp.c_proj.weight'), p('mlp.c_proj.bias'), N, 4 * C, C);
    x = mid.map((v, i) => v + proj[i]!);
  }
  const hidden = layerNorm(x, get('ln_f.weight'), get('ln_f.bias'), C, eps);
  const logits = new Float64Array(N * V);
  let loss = 0;
  for (let n = 0; n < N; n++) {
    for (let v = 0; v < V; v++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += hidden[n * C + c]! * wte[v * C + c]!;
      logits[n * V + v] = s;
    }
    const wn = batch.weights[n]!;
    if (wn === 0) continue;
    const row = logits.subarray(n * V, (n + 1) * V);
    const m = Math.max(...row);
    const lse = Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0)) + m;
    loss += wn * (lse - row[batch.targets[n]!]!);
  }
  const out: RefOutputs = { logits, loss, hidden };
  const head = (name: string, rows: number[]) => {
    const hw = get(`${name}.weight`);
    const hb = get(`${name}.bias`);
    return Float64Array.from(rows, (r) => {
      let s = hb[0]!;
      for (let c = 0; c < C; c++) s += hw[c]! * hidden[r * C + c]!;
      return s;
    });
  };
  if (w.has('score.weight')) out.scores = head('score', [...batch.lastRows]);
  if (w.has('v_head.summary.weight')) out.values = head('v_head.summary', Array.from({ length: N }, (_, i) => i));
  return out;
}

/**
 * log softmax(scale·logits)[target] per row (NaN where the target is negative: no target) and
 * the entropy of softmax(scale·logits): what tokenLogprobs(scale) computes, in float64.
 */
export function tokenLogprobsRef(logits: ArrayLike<number>, targets: ArrayLike<number>, V: number, scale = 1): { logprobs: number[]; entropies: number[] } {
  const logprobs: number[] = [];
  const entropies: number[] = [];
  for (let i = 0; i < targets.length; i++) {
    const z = Array.from({ length: V }, (_, v) => scale * logits[i * V + v]!);
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((a, x) => a + Math.exp(x - m), 0));
    logprobs.push(targets[i]! >= 0 ? z[targets[i]!]! - lse : NaN);
    entropies.push(-z.reduce((a, x) => a + Math.exp(x - lse) * (x - lse), 0));
  }
  return { logprobs, entropies };
}
