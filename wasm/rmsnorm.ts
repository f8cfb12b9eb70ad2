// RMSNorm over the last axis of x [N, C] (Llama's: weight only, no mean subtraction) and its
// backward (the twins of kernels/rmsnorm.wgsl). Row sums run in f64.
import { addColumns } from './lib/columns';
import { hsum2, highHalf } from './lib/simd_math';

/** Σ x² over a row, squares and sum in f64 (no finite f32 overflows there). */
// @ts-ignore: decorator
@inline function sumSquares(row: usize, rowBytes: usize): f64 {
  let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
  let i: usize = 0;
  for (; i + 16 <= rowBytes; i += 16) {
    const v = v128.load(row + i);
    const lo = f64x2.promote_low_f32x4(v), hi = f64x2.promote_low_f32x4(highHalf(v));
    a0 = f64x2.add(a0, f64x2.mul(lo, lo));
    a1 = f64x2.add(a1, f64x2.mul(hi, hi));
  }
  let s = hsum2(a0) + hsum2(a1);
  for (; i < rowBytes; i += 4) {
    const v = <f64>load<f32>(row + i);
    s += v * v;
  }
  return s;
}

/** out = x·rstd·weight, saving rstd[n] = 1/√(mean(x²) + eps). */
export function rms_norm(x: usize, weight: usize, out: usize, rstd: usize, N: i32, C: i32, eps: f32): void {
  const rowBytes = <usize>C * 4;
  for (let n = 0; n < N; n++) {
    const row = x + <usize>n * rowBytes;
    const o = out + <usize>n * rowBytes;
    const r = <f32>(1 / Math.sqrt(sumSquares(row, rowBytes) / <f64>C + <f64>eps));
    store<f32>(rstd + <usize>n * 4, r);
    const r4 = f32x4.splat(r);
    let i: usize = 0;
    for (; i + 16 <= rowBytes; i += 16) v128.store(o + i, f32x4.mul(f32x4.mul(v128.load(row + i), r4), v128.load(weight + i)));
    for (; i < rowBytes; i += 4) store<f32>(o + i, load<f32>(row + i) * r * load<f32>(weight + i));
  }
}

/**
 * Adds the gradients: dx += rstd·(g − x̂·mean(g·x̂)) with g = weight·dout and x̂ = x·rstd;
 * dweight += Σₙ dout·x̂. The column sums run in f64 in `scratch` (C f64, given by JavaScript)
 * and are added to dweight at the end.
 */
export function rms_norm_backward(dout: usize, x: usize, weight: usize, rstd: usize, dx: usize, dweight: usize, N: i32, C: i32, scratch: usize): void {
  const rowBytes = <usize>C * 4;
  memory.fill(scratch, 0, <usize>C * 8);
  for (let n = 0; n < N; n++) {
    const xr = x + <usize>n * rowBytes;
    const dr = dout + <usize>n * rowBytes;
    const dxr = dx + <usize>n * rowBytes;
    const r = load<f32>(rstd + <usize>n * 4);
    const r4 = f32x4.splat(r);
    // Pass 1: Σ g·x (f64), and the column sums dout·x̂.
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
    let i: usize = 0;
    for (; i + 16 <= rowBytes; i += 16) {
      const xv = v128.load(xr + i);
      const d = v128.load(dr + i);
      const gx = f32x4.mul(f32x4.mul(v128.load(weight + i), d), xv);
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(gx));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(highHalf(gx)));
      const dxh = f32x4.mul(d, f32x4.mul(xv, r4));
      const pw = scratch + i * 2;
      v128.store(pw, f64x2.add(v128.load(pw), f64x2.promote_low_f32x4(dxh)));
      v128.store(pw + 16, f64x2.add(v128.load(pw + 16), f64x2.promote_low_f32x4(highHalf(dxh))));
    }
    let s = hsum2(s0) + hsum2(s1);
    for (; i < rowBytes; i += 4) {
      const xv = load<f32>(xr + i);
      const d = load<f32>(dr + i);
      s += <f64>(load<f32>(weight + i) * d * xv);
      store<f64>(scratch + i * 2, load<f64>(scratch + i * 2) + <f64>(d * (xv * r)));
    }
    const m = <f32>(s * <f64>r / <f64>C);
    const m4 = f32x4.splat(m);
    // Pass 2: dx.
    i = 0;
    for (; i + 16 <= rowBytes; i += 16) {
      const xh = f32x4.mul(v128.load(xr + i), r4);
      const g = f32x4.mul(v128.load(weight + i), v128.load(dr + i));
      v128.store(dxr + i, f32x4.add(v128.load(dxr + i), f32x4.mul(f32x4.sub(g, f32x4.mul(xh, m4)), r4)));
    }
    for (; i < rowBytes; i += 4) {
      const xh = load<f32>(xr + i) * r;
      const g = load<f32>(weight + i) * load<f32>(dr + i);
      store<f32>(dxr + i, load<f32>(dxr + i) + (g - xh * m) * r);
    }
  }
  addColumns(scratch, dweight, C);
}
