// Float64 references of the layer ops (the functions, not their gradients: gradients are
// checked against central finite differences of these) and the finite-difference helper.

export type Vec = ArrayLike<number>;

/** ∂f/∂x by central differences in float64; f must not keep x. */
export function numericGrad(f: (x: Float64Array) => number, x: Vec, h = 1e-5): Float64Array {
  const xs = Float64Array.from(x);
  const g = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    xs[i] = v + h;
    const up = f(xs);
    xs[i] = v - h;
    const down = f(xs);
    xs[i] = v;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

/** Σ w·y: turns a vector-valued op into the scalar whose gradient is the op's backward with dout = w. */
export function dot(w: Vec, y: Vec): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += w[i]! * y[i]!;
  return s;
}

export function embeddingRef(ids: Vec, pos: Vec, wte: Vec, wpe: Vec, C: number): Float64Array {
  const out = new Float64Array(ids.length * C);
  for (let n = 0; n < ids.length; n++) {
    for (let c = 0; c < C; c++) out[n * C + c] = wte[ids[n]! * C + c]! + wpe[pos[n]! * C + c]!;
  }
  return out;
}

export function layerNormRef(x: Vec, w: Vec, b: Vec, C: number, eps: number): { out: Float64Array; mean: Float64Array; rstd: Float64Array } {
  const N = x.length / C;
  const out = new Float64Array(x.length);
  const mean = new Float64Array(N);
  const rstd = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let m = 0;
    for (let c = 0; c < C; c++) m += x[n * C + c]!;
    m /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[n * C + c]! - m) ** 2;
    const r = 1 / Math.sqrt(v / C + eps);
    for (let c = 0; c < C; c++) out[n * C + c] = (x[n * C + c]! - m) * r * w[c]! + b[c]!;
    mean[n] = m;
    rstd[n] = r;
  }
  return { out, mean, rstd };
}

/** The analytic LayerNorm gradient in float64 (itself checked against finite differences below). */
export function layerNormBackwardRef(dout: ArrayLike<number>, x: ArrayLike<number>, w: ArrayLike<number>, mean: Float64Array, rstd: Float64Array, C: number) {
  const N = mean.length;
  const dx = new Float64Array(N * C);
  const dw = new Float64Array(C);
  const db = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    let a = 0;
    let bsum = 0;
    for (let c = 0; c < C; c++) {
      const xh = (x[n * C + c]! - mean[n]!) * rstd[n]!;
      const g = w[c]! * dout[n * C + c]!;
      a += g;
      bsum += g * xh;
      dw[c] = dw[c]! + dout[n * C + c]! * xh;
      db[c] = db[c]! + dout[n * C + c]!;
    }
    a /= C;
    bsum /= C;
    for (let c = 0; c < C; c++) {
      const xh = (x[n * C + c]! - mean[n]!) * rstd[n]!;
      dx[n * C + c] = rstd[n]! * (w[c]! * dout[n * C + c]! - a - xh * bsum);
    }
  }
  return { dx, dw, db };
}

export function geluRef(x: Vec): Float64Array {
  const k = Math.sqrt(2 / Math.PI);
  return Float64Array.from(x, (v) => 0.5 * v * (1 + Math.tanh(k * (v + 0.044715 * v ** 3))));
}

/** Scores [B, H, T, T] → probabilities, with the causal and key-padding masks. */
export function causalSoftmaxRef(s: Vec, mask: Vec, B: number, H: number, T: number): Float64Array {
  const p = new Float64Array(B * H * T * T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        const row = ((b * H + h) * T + i) * T;
        const seen = (j: number) => j <= i && mask[b * T + j]! >= 0.5;
        let m = -Infinity;
        for (let j = 0; j < T; j++) if (seen(j)) m = Math.max(m, s[row + j]!);
        if (m === -Infinity) continue;
        let z = 0;
        for (let j = 0; j < T; j++) if (seen(j)) z += Math.exp(s[row + j]! - m);
        for (let j = 0; j < T; j++) p[row + j] = seen(j) ? Math.exp(s[row + j]! - m) / z : 0;
      }
    }
  }
  return p;
}

/** Per-row weighted cross-entropy; rows of weight 0 give 0 and never read their target. */
export function crossEntropyRef(logits: Vec, targets: Vec, weights: Vec, V: number): Float64Array {
  const N = targets.length;
  const losses = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    if (weights[n] === 0) continue;
    let m = -Infinity;
    for (let v = 0; v < V; v++) m = Math.max(m, logits[n * V + v]!);
    let z = 0;
    for (let v = 0; v < V; v++) z += Math.exp(logits[n * V + v]! - m);
    losses[n] = weights[n]! * (Math.log(z) + m - logits[n * V + targets[n]!]!);
  }
  return losses;
}

export interface AdamWRefStep {
  lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number; maxGradNorm?: number;
}

/** PyTorch's AdamW (with clip_grad_norm_ first when maxGradNorm is set), in place, float64. */
export function adamwRef(p: Float64Array, g: Vec, m: Float64Array, v: Float64Array, s: AdamWRefStep): void {
  let clip = 1;
  if (s.maxGradNorm && s.maxGradNorm > 0) {
    let ss = 0;
    for (let i = 0; i < g.length; i++) ss += g[i]! ** 2;
    clip = Math.min(1, s.maxGradNorm / (Math.sqrt(ss) + 1e-6));
  }
  const bc1 = 1 - s.beta1 ** s.step;
  const bc2 = 1 - s.beta2 ** s.step;
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]! * clip;
    p[i] = p[i]! - s.lr * s.weightDecay * p[i]!;
    m[i] = s.beta1 * m[i]! + (1 - s.beta1) * gi;
    v[i] = s.beta2 * v[i]! + (1 - s.beta2) * gi * gi;
    p[i] = p[i]! - (s.lr * (m[i]! / bc1)) / (Math.sqrt(v[i]! / bc2) + s.eps);
  }
}

/** Hugging Face's LlamaRMSNorm in float64: out = x·rstd·w, rstd = 1/√(mean(x²) + eps). */
export function rmsNormRef(x: Vec, w: Vec, C: number, eps: number): { out: Float64Array; rstd: Float64Array } {
  const N = x.length / C;
  const out = new Float64Array(x.length);
  const rstd = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let q = 0;
    for (let c = 0; c < C; c++) q += x[n * C + c]! ** 2;
    const r = 1 / Math.sqrt(q / C + eps);
    for (let c = 0; c < C; c++) out[n * C + c] = x[n * C + c]! * r * w[c]!;
    rstd[n] = r;
  }
  return { out, rstd };
}

/** The analytic RMSNorm gradient in float64, for rows too wide for finite differences (checked against them in layers.test.ts). */
export function rmsNormBackwardRef(dout: Vec, x: Vec, w: Vec, rstd: Float64Array, C: number): { dx: Float64Array; dw: Float64Array } {
  const N = rstd.length;
  const dx = new Float64Array(N * C);
  const dw = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    const r = rstd[n]!;
    let s = 0;
    for (let c = 0; c < C; c++) {
      s += w[c]! * dout[n * C + c]! * x[n * C + c]! * r;
      dw[c] = dw[c]! + dout[n * C + c]! * x[n * C + c]! * r;
    }
    for (let c = 0; c < C; c++) dx[n * C + c] = r * (w[c]! * dout[n * C + c]! - x[n * C + c]! * r * (s / C));
  }
  return { dx, dw };
}

/** SiLU(x) = x·σ(x) in float64. */
export function siluRef(x: Vec): Float64Array {
  return Float64Array.from(x, (v) => v / (1 + Math.exp(-v)));
}

/** SwiGLU's product in float64: SiLU(gate) ⊙ up. */
export function swigluRef(gate: Vec, up: Vec): Float64Array {
  return siluRef(gate).map((s, i) => s * up[i]!);
}

/**
 * Rotary position embedding in float64, Hugging Face's rotate-half form, on x [N, W] with
 * heads of D = 2·half: pairs (i, i + half) of each head rotate by the angle of row positions[n]
 * of the tables cos, sin [P, half]; `inverse` rotates back (the transpose).
 */
export function rotaryRef(x: Vec, positions: Vec, cos: Vec, sin: Vec, W: number, half: number, inverse = false): Float64Array {
  const out = new Float64Array(x.length);
  const D = 2 * half;
  for (let n = 0; n < positions.length; n++) {
    const p = positions[n]!;
    for (let h = 0; h < W / D; h++) {
      for (let i = 0; i < half; i++) {
        const c = cos[p * half + i]!;
        const s = inverse ? -sin[p * half + i]! : sin[p * half + i]!;
        const a = n * W + h * D + i;
        const x1 = x[a]!;
        const x2 = x[a + half]!;
        out[a] = x1 * c - x2 * s;
        out[a + half] = x2 * c + x1 * s;
      }
    }
  }
  return out;
}
