// Packing of a 16-bit B (frozen weights in bf16 or f16): the same panels as packPanels
// (matmul_pack.ts) makes of an f32 B, decoded to f32 on the way, so the micro-kernel runs
// unchanged and B's f32 copy is only ever one packed block. B is read at
// src + (r*rs + k*ks)*2; alpha is folded into A, so B is never scaled.
import { loadHalf, loadHalf4 } from './half';

/** Packs `width` lanes × kc steps of a 16-bit operand into ceil(width / W) f32 panels at dst. */
export function packHalfPanels(src: usize, rs: usize, ks: usize, width: i32, kc: i32, W: i32, dtype: i32, dst: usize): void {
  for (let p = 0; p < width; p += W) {
    const w = min(W, width - p);
    const from = src + <usize>p * rs * 2;
    if (w == W && rs == 1 && W % 4 == 0) packHalfLanes(from, ks, kc, W, dtype, dst);
    else if (w == W && ks == 1) packHalfSteps(from, rs, kc, W, dtype, dst);
    else packHalfEdge(from, rs, ks, w, kc, W, dtype, dst);
    dst += <usize>(W * kc) * 4;
  }
}

/** Lanes adjacent in memory (B [K, N]): each k decodes one run of W values. */
function packHalfLanes(src: usize, ks: usize, kc: i32, W: i32, dtype: i32, dst: usize): void {
  for (let k = 0; k < kc; k++) {
    for (let i = 0; i < W; i += 4) v128.store(dst + (<usize>i << 2), loadHalf4(src + (<usize>i << 1), dtype));
    src += ks * 2;
    dst += <usize>W * 4;
  }
}

/** Steps adjacent in memory (Bᵀ [N, K]): each lane is a row along k, decoded 4 steps at a time. */
function packHalfSteps(src: usize, rs: usize, kc: i32, W: i32, dtype: i32, dst: usize): void {
  const out = <usize>W * 4; // bytes per k in the panel
  for (let r = 0; r < W; r++) {
    const s = src + <usize>r * rs * 2;
    let d = dst + <usize>r * 4;
    let k = 0;
    for (; k + 4 <= kc; k += 4) {
      const v = loadHalf4(s + (<usize>k << 1), dtype);
      store<f32>(d, f32x4.extract_lane(v, 0));
      store<f32>(d + out, f32x4.extract_lane(v, 1));
      store<f32>(d + 2 * out, f32x4.extract_lane(v, 2));
      store<f32>(d + 3 * out, f32x4.extract_lane(v, 3));
      d += 4 * out;
    }
    for (; k < kc; k++) {
      store<f32>(d, loadHalf(s + (<usize>k << 1), dtype));
      d += out;
    }
  }
}

/** General case (edge panels): lane by lane, lanes w..W zero-filled. */
function packHalfEdge(src: usize, rs: usize, ks: usize, w: i32, kc: i32, W: i32, dtype: i32, dst: usize): void {
  const stride = <usize>W * 4;
  for (let r = 0; r < W; r++) {
    let d = dst + <usize>r * 4;
    let s = src + <usize>r * rs * 2;
    for (let k = 0; k < kc; k++) {
      store<f32>(d, r < w ? loadHalf(s, dtype) : 0);
      s += ks * 2;
      d += stride;
    }
  }
}
