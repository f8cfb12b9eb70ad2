// Packing: copies a block of an operand into contiguous micro-panels, the layout the
// micro-kernel streams through. A panel is W (= MR for A, NR for B) lanes wide and kc long,
// stored k-major: panel[k*W + r] = X(p + r, k). The micro-kernel always runs a full tile;
// lanes past the block's edge only feed outputs that the edge write-back discards, and are
// zero-filled anyway so that they never hold stale NaNs or subnormals.
//
// X(r, k) is read at src + (r*rs + k*ks)*4, which covers every operand layout:
//   A [M, K]: rs = K, ks = 1     Aᵀ [K, M]: rs = 1, ks = M
//   B [K, N]: rs = 1, ks = N     Bᵀ [N, K]: rs = K, ks = 1
// so transposed operands cost one gather here and nothing in the kernel. Every value is
// multiplied by `scale` on the way (matmul's alpha, folded into A), which is free here.
//
// Packing is O((M + N)·K) against the kernel's O(M·N·K), but on 128×128 blocks a scalar
// gather still cost 10–17% of the whole matmul, so full panels go through SIMD paths.

/** Packs `width` lanes × kc steps into ceil(width / W) panels of W×kc floats at dst. */
export function packPanels(src: usize, rs: usize, ks: usize, width: i32, kc: i32, W: i32, scale: f32, dst: usize): void {
  for (let p = 0; p < width; p += W) {
    const w = min(W, width - p);
    const from = src + <usize>p * rs * 4;
    if (w < W) packEdge(from, rs, ks, w, kc, W, scale, dst);
    else if (rs == 1) packLanesContiguous(from, ks, kc, W, scale, dst);
    else if (ks == 1) packStepsContiguous(from, rs, kc, W, scale, dst);
    else packEdge(from, rs, ks, w, kc, W, scale, dst);
    dst += <usize>(W * kc) * 4;
  }
}

/** Lanes adjacent in memory (B, Aᵀ): each k copies one run of W floats. */
function packLanesContiguous(src: usize, ks: usize, kc: i32, W: i32, scale: f32, dst: usize): void {
  const sv = f32x4.splat(scale);
  const bytes = <usize>W * 4;
  for (let k = 0; k < kc; k++) {
    let i: usize = 0;
    for (; i + 16 <= bytes; i += 16) v128.store(dst + i, f32x4.mul(v128.load(src + i), sv));
    if (i + 8 <= bytes) {
      v128.store64_lane(dst + i, f32x4.mul(v128.load64_zero(src + i), sv), 0);
      i += 8;
    }
    if (i < bytes) store<f32>(dst + i, load<f32>(src + i) * scale);
    src += ks * 4;
    dst += bytes;
  }
}

/**
 * Steps adjacent in memory (A, Bᵀ): each lane is a row along k. Four steps of 4 lanes are
 * loaded as 4 vectors and transposed in registers (of 2 lanes, interleaved), so every load
 * and store is a full vector; the last kc % 4 steps are copied one by one.
 */
function packStepsContiguous(src: usize, rs: usize, kc: i32, W: i32, scale: f32, dst: usize): void {
  const sv = f32x4.splat(scale);
  const row = rs * 4;
  const out = <usize>W * 4; // bytes per k in the panel
  let k = 0;
  for (; k + 4 <= kc; k += 4) {
    const s = src + <usize>k * 4;
    const d = dst + <usize>k * out;
    let r = 0;
    for (; r + 4 <= W; r += 4) {
      const p = s + <usize>r * row;
      const r0 = f32x4.mul(v128.load(p), sv);
      const r1 = f32x4.mul(v128.load(p + row), sv);
      const r2 = f32x4.mul(v128.load(p + 2 * row), sv);
      const r3 = f32x4.mul(v128.load(p + 3 * row), sv);
      // [r0k0 r1k0 r0k1 r1k1], [r0k2 r1k2 r0k3 r1k3], and the same for r2, r3.
      const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
      const t1 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
      const t2 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
      const t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
      const o = d + <usize>r * 4;
      v128.store(o, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
      v128.store(o + out, i32x4.shuffle(t0, t2, 2, 3, 6, 7));
      v128.store(o + 2 * out, i32x4.shuffle(t1, t3, 0, 1, 4, 5));
      v128.store(o + 3 * out, i32x4.shuffle(t1, t3, 2, 3, 6, 7));
    }
    for (; r + 2 <= W; r += 2) {
      const p = s + <usize>r * row;
      const r0 = f32x4.mul(v128.load(p), sv);
      const r1 = f32x4.mul(v128.load(p + row), sv);
      // Two lanes: steps k..k+3 are [r0k0 r1k0 r0k1 r1k1] [r0k2 r1k2 r0k3 r1k3], 64 bits per step
      // (for W = 2, A's panels, that is the panel itself: two full stores).
      const lo = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
      const hi = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
      const o = d + <usize>r * 4;
      if (W == 2) {
        v128.store(o, lo);
        v128.store(o, hi, 16);
      } else {
        v128.store64_lane(o, lo, 0);
        v128.store64_lane(o + out, lo, 1);
        v128.store64_lane(o + 2 * out, hi, 0);
        v128.store64_lane(o + 3 * out, hi, 1);
      }
    }
    for (; r < W; r++) {
      const p = s + <usize>r * row;
      for (let j: usize = 0; j < 4; j++) store<f32>(d + j * out + <usize>r * 4, load<f32>(p + j * 4) * scale);
    }
  }
  if (k < kc) packEdge(src + <usize>k * 4, rs, 1, W, kc - k, W, scale, dst + <usize>k * out);
}

/** General case (edge panels, odd layouts): gather lane by lane, zero-fill lanes w..W. */
function packEdge(src: usize, rs: usize, ks: usize, w: i32, kc: i32, W: i32, scale: f32, dst: usize): void {
  const stride = <usize>W * 4;
  for (let r = 0; r < W; r++) {
    let d = dst + <usize>r * 4;
    if (r < w) {
      let s = src + <usize>r * rs * 4;
      for (let k = 0; k < kc; k++) {
        store<f32>(d, load<f32>(s) * scale);
        s += ks * 4;
        d += stride;
      }
    } else {
      for (let k = 0; k < kc; k++) {
        store<f32>(d, 0);
        d += stride;
      }
    }
  }
}
