// Attention helpers: the head split/merge between [B, T, W] (a [B, T, H·D] column block at
// `col`) and [B, H, T, D], and the causal, key-masked row softmax of scores [B, H, T, T] with
// its backward. Rows are independent: the softmax kernels take (part, parts) and do the rows
// of share `part`, so they can be split across threads with the same result.
import { rowShare } from './lib/row_share';
import { expf1, expf4, hsum4 } from './lib/simd_math';

/** dst[b, h, t0 + t, :] = src[b, t, col + h·D : col + (h+1)·D]; dst is [B, H, S, D]. */
export function gather_heads(src: usize, dst: usize, B: i32, T: i32, H: i32, D: i32, W: i32, col: i32, S: i32, t0: i32): void {
  const bytes = <usize>D * 4;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const s = src + ((<usize>b * <usize>T + <usize>t) * <usize>W + <usize>col + <usize>h * <usize>D) * 4;
        const d = dst + (((<usize>b * <usize>H + <usize>h) * <usize>S + <usize>t0 + <usize>t) * <usize>D) * 4;
        memory.copy(d, s, bytes);
      }
    }
  }
}

/** dst[b, t, col + h·D : col + (h+1)·D] = src[b, h, t, :]; dst's other columns are kept. */
export function scatter_heads(src: usize, dst: usize, B: i32, T: i32, H: i32, D: i32, W: i32, col: i32): void {
  const bytes = <usize>D * 4;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const s = src + (((<usize>b * <usize>H + <usize>h) * <usize>T + <usize>t) * <usize>D) * 4;
        const d = dst + ((<usize>b * <usize>T + <usize>t) * <usize>W + <usize>col + <usize>h * <usize>D) * 4;
        memory.copy(d, s, bytes);
      }
    }
  }
}


/**
 * probs[b, h, i, j] = softmax over the keys query i sees (j ≤ i and keyMask[b, j] ≥ 0.5);
 * hidden keys get exactly 0, and a query that sees no key gets a row of zeros.
 */
export function causal_softmax(scores: usize, keyMask: usize, probs: usize, B: i32, H: i32, T: i32, part: i32, parts: i32): void {
  const rows = B * H * T;
  const r1 = rowShare(rows, part + 1, parts);
  const rowBytes = <usize>T * 4;
  const half = f32x4.splat(0.5);
  const ninf = f32x4.splat(-Infinity);
  for (let row = rowShare(rows, part, parts); row < r1; row++) {
    const i = row % T;
    const b = row / (H * T);
    const s = scores + <usize>row * rowBytes;
    const p = probs + <usize>row * rowBytes;
    const km = keyMask + <usize>b * rowBytes;
    // Keys 0..i may be visible; those after i are not.
    const seen = <usize>(i + 1) * 4;
    let mx4 = ninf;
    let j: usize = 0;
    for (; j + 16 <= seen; j += 16) {
      const vis = f32x4.ge(v128.load(km + j), half);
      mx4 = f32x4.max(mx4, v128.bitselect(v128.load(s + j), ninf, vis));
    }
    let mx = max(max(f32x4.extract_lane(mx4, 0), f32x4.extract_lane(mx4, 1)), max(f32x4.extract_lane(mx4, 2), f32x4.extract_lane(mx4, 3)));
    for (; j < seen; j += 4) if (load<f32>(km + j) >= 0.5) mx = max(mx, load<f32>(s + j));
    if (mx == -Infinity) {
      // Nothing visible (or every visible score is −inf): a row of zeros.
      memory.fill(p, 0, rowBytes);
      continue;
    }
    const m4 = f32x4.splat(mx);
    let sum4 = f32x4.splat(0);
    j = 0;
    for (; j + 16 <= seen; j += 16) {
      const vis = f32x4.ge(v128.load(km + j), half);
      const e = v128.and(expf4(f32x4.sub(v128.load(s + j), m4)), vis);
      v128.store(p + j, e);
      sum4 = f32x4.add(sum4, e);
    }
    let sum = hsum4(sum4);
    for (; j < seen; j += 4) {
      const e: f32 = load<f32>(km + j) >= 0.5 ? expf1(load<f32>(s + j) - mx) : 0;
      store<f32>(p + j, e);
      sum += e;
    }
    const inv: f32 = 1 / sum;
    const inv4 = f32x4.splat(inv);
    j = 0;
    for (; j + 16 <= seen; j += 16) v128.store(p + j, f32x4.mul(v128.load(p + j), inv4));
    for (; j < seen; j += 4) store<f32>(p + j, load<f32>(p + j) * inv);
    if (seen < rowBytes) memory.fill(p + seen, 0, rowBytes - seen);
  }
}

/** dscores = probs ⊙ (dprobs − Σⱼ probs·dprobs), per row of [B·H·T, T]. */
export function causal_softmax_backward(dprobs: usize, probs: usize, dscores: usize, B: i32, H: i32, T: i32, part: i32, parts: i32): void {
  const rows = B * H * T;
  const r1 = rowShare(rows, part + 1, parts);
  const rowBytes = <usize>T * 4;
  for (let row = rowShare(rows, part, parts); row < r1; row++) {
    const dp = dprobs + <usize>row * rowBytes;
    const p = probs + <usize>row * rowBytes;
    const ds = dscores + <usize>row * rowBytes;
    let acc = f32x4.splat(0);
    let j: usize = 0;
    for (; j + 16 <= rowBytes; j += 16) acc = f32x4.add(acc, f32x4.mul(v128.load(p + j), v128.load(dp + j)));
    let dot = hsum4(acc);
    for (; j < rowBytes; j += 4) dot += load<f32>(p + j) * load<f32>(dp + j);
    const d4 = f32x4.splat(dot);
    j = 0;
    for (; j + 16 <= rowBytes; j += 16) v128.store(ds + j, f32x4.mul(v128.load(p + j), f32x4.sub(v128.load(dp + j), d4)));
    for (; j < rowBytes; j += 4) store<f32>(ds + j, load<f32>(p + j) * (load<f32>(dp + j) - dot));
  }
}
