// LayerNorm over the last axis of x [N, C] and its backward. Row statistics run in f64:
// mean first, then the biased variance Σ(x − mean)²/C (two passes, no cancellation).
import { addColumns } from './lib/columns';
import { hsum2, highHalf } from './lib/simd_math';

/** out = (x − mean)·rstd·weight + bias, saving mean[n] and rstd[n] = 1/√(var + eps). */
export function layernorm(x: usize, weight: usize, bias: usize, out: usize, mean: usize, rstd: usize, N: i32, C: i32, eps: f32): void {
  const rowBytes = <usize>C * 4;
  for (let n = 0; n < N; n++) {
    const row = x + <usize>n * rowBytes;
    const o = out + <usize>n * rowBytes;
    let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
    let i: usize = 0;
    for (; i + 16 <= rowBytes; i += 16) {
      const v = v128.load(row + i);
      a0 = f64x2.add(a0, f64x2.promote_low_f32x4(v));
      a1 = f64x2.add(a1, f64x2.promote_low_f32x4(highHalf(v)));
    }
    let s = hsum2(a0) + hsum2(a1);
    for (; i < rowBytes; i += 4) s += <f64>load<f32>(row + i);
    const m = s / <f64>C;
    const mv = f64x2.splat(m);
    a0 = f64x2.splat(0);
    a1 = f64x2.splat(0);
    i = 0;
    for (; i + 16 <= rowBytes; i += 16) {
      const v = v128.load(row + i);
      const d0 = f64x2.sub(f64x2.promote_low_f32x4(v), mv), d1 = f64x2.sub(f64x2.promote_low_f32x4(highHalf(v)), mv);
      a0 = f64x2.add(a0, f64x2.mul(d0, d0));
      a1 = f64x2.add(a1, f64x2.mul(d1, d1));
    }
    let ss = hsum2(a0) + hsum2(a1);
    for (; i < rowBytes; i += 4) {
      const d = <f64>load<f32>(row + i) - m;
      ss += d * d;
    }
    const r = <f32>(1 / Math.sqrt(ss / <f64>C + <f64>eps));
    const mf = <f32>m;
    store<f32>(mean + <usize>n * 4, mf);
    store<f32>(rstd + <usize>n * 4, r);
    const m4 = f32x4.splat(mf), r4 = f32x4.splat(r);
    i = 0;
    for (; i + 16 <= rowBytes; i += 16) {
      const xh = f32x4.mul(f32x4.sub(v128.load(row + i), m4), r4);
      v128.store(o + i, f32x4.add(f32x4.mul(xh, v128.load(weight + i)), v128.load(bias + i)));
    }
    for (; i < rowBytes; i += 4) store<f32>(o + i, (load<f32>(row + i) - mf) * r * load<f32>(weight + i) + load<f32>(bias + i));
  }
}

/**
 * Adds the gradients: dx += rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = weight·dout and
 * x̂ = (x − mean)·rstd; dweight += Σₙ dout·x̂; dbias += Σₙ dout. The column sums run in f64 in
 * `scratch` (2·C f64, given by JavaScript) and are added to dweight and dbias at the end.
 */
export function layernorm_backward(dout: usize, x: usize, weight: usize, mean: usize, rstd: usize, dx: usize, dweight: usize, dbias: usize, N: i32, C: i32, scratch: usize): void {
  const rowBytes = <usize>C * 4;
  const accW = scratch, accB = scratch + <usize>C * 8;
  memory.fill(scratch, 0, <usize>C * 16);
  for (let n = 0; n < N; n++) {
    const xr = x + <usize>n * rowBytes;
    const dr = dout + <usize>n * rowBytes;
    const dxr = dx + <usize>n * rowBytes;
    const mf = load<f32>(mean + <usize>n * 4), r = load<f32>(rstd + <usize>n * 4);
    const m4 = f32x4.splat(mf), r4 = f32x4.splat(r);
    // Pass 1: Σ g and Σ g·x̂ (f64), and the column sums dout·x̂ and dout.
    let g0 = f64x2.splat(0), g1 = f64x2.splat(0), h0 = f64x2.splat(0), h1 = f64x2.splat(0);
    let i: usize = 0;
    for (; i + 16 <= rowBytes; i += 16) {
      const xh = f32x4.mul(f32x4.sub(v128.load(xr + i), m4), r4);
      const d = v128.load(dr + i);
      const g = f32x4.mul(v128.load(weight + i), d);
      const gx = f32x4.mul(g, xh);
      g0 = f64x2.add(g0, f64x2.promote_low_f32x4(g));
      g1 = f64x2.add(g1, f64x2.promote_low_f32x4(highHalf(g)));
      h0 = f64x2.add(h0, f64x2.promote_low_f32x4(gx));
      h1 = f64x2.add(h1, f64x2.promote_low_f32x4(highHalf(gx)));
      const dxh = f32x4.mul(d, xh);
      const pw = accW + i * 2, pb = accB + i * 2;
      v128.store(pw, f64x2.add(v128.load(pw), f64x2.promote_low_f32x4(dxh)));
      v128.store(pw + 16, f64x2.add(v128.load(pw + 16), f64x2.promote_low_f32x4(highHalf(dxh))));
      v128.store(pb, f64x2.add(v128.load(pb), f64x2.promote_low_f32x4(d)));
      v128.store(pb + 16, f64x2.add(v128.load(pb + 16), f64x2.promote_low_f32x4(highHalf(d))));
    }
    let sg = hsum2(g0) + hsum2(g1), sgx = hsum2(h0) + hsum2(h1);
    for (; i < rowBytes; i += 4) {
      const xh = (load<f32>(xr + i) - mf) * r;
      const d = load<f32>(dr + i);
      const g = load<f32>(weight + i) * d;
      sg += <f64>g;
      sgx += <f64>(g * xh);
      store<f64>(accW + i * 2, load<f64>(accW + i * 2) + <f64>(d * xh));
      store<f64>(accB + i * 2, load<f64>(accB + i * 2) + <f64>d);
    }
    const mg = <f32>(sg / <f64>C), mgx = <f32>(sgx / <f64>C);
    const mg4 = f32x4.splat(mg), mgx4 = f32x4.splat(mgx);
    // Pass 2: dx.
    i = 0;
    for (; i + 16 <= rowBytes; i += 16) {
      const xh = f32x4.mul(f32x4.sub(v128.load(xr + i), m4), r4);
      const g = f32x4.mul(v128.load(weight + i), v128.load(dr + i));
      const t = f32x4.mul(f32x4.sub(f32x4.sub(g, mg4), f32x4.mul(xh, mgx4)), r4);
      v128.store(dxr + i, f32x4.add(v128.load(dxr + i), t));
    }
    for (; i < rowBytes; i += 4) {
      const xh = (load<f32>(xr + i) - mf) * r;
      const g = load<f32>(weight + i) * load<f32>(dr + i);
      store<f32>(dxr + i, load<f32>(dxr + i) + (g - mg - xh * mgx) * r);
    }
  }
  addColumns(accW, dweight, C);
  addColumns(accB, dbias, C);
}
