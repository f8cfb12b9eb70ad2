// Fused softmax + cross-entropy over logits [N, V] at z = s·x (s = scale, 1/temperature), one
// row at a time: max, then Σ e^(s(x − max)) (f64), losses[n] = w·(s·max + log Σ − s·x[t]) and,
// when dlogits is given (pointer 0: not), dlogits[n] = w·s·(softmax(z) − onehot(t)). Rows of weight 0 give loss 0 and zero gradient without
// reading their target. A target outside [0, V) with a nonzero weight gives a NaN loss.
// Takes (part, parts): share `part` of the rows.
import { rowShare } from './lib/row_share';
import { expf1, expf4, highHalf, hsum2, rowMax } from './lib/simd_math';

export function softmax_crossentropy(logits: usize, targets: usize, weights: usize, losses: usize, dlogits: usize, N: i32, V: i32, scale: f32, part: i32, parts: i32): void {
  const rowBytes = <usize>V * 4;
  const n1 = rowShare(N, part + 1, parts);
  for (let n = rowShare(N, part, parts); n < n1; n++) {
    const x = logits + <usize>n * rowBytes;
    const d = dlogits + <usize>n * rowBytes;
    const w = load<f32>(weights + <usize>n * 4);
    if (w == 0) {
      store<f32>(losses + <usize>n * 4, 0);
      if (dlogits) memory.fill(d, 0, rowBytes);
      continue;
    }
    const mx = rowMax(x, rowBytes);
    const m4 = f32x4.splat(mx);
    const s4 = f32x4.splat(scale);
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
    let j: usize = 0;
    for (; j + 16 <= rowBytes; j += 16) {
      const e = expf4(f32x4.mul(f32x4.sub(v128.load(x + j), m4), s4));
      if (dlogits) v128.store(d + j, e);
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(e));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(highHalf(e)));
    }
    let sum = hsum2(s0) + hsum2(s1);
    for (; j < rowBytes; j += 4) {
      const e = expf1((load<f32>(x + j) - mx) * scale);
      if (dlogits) store<f32>(d + j, e);
      sum += <f64>e;
    }
    const t = <i32>load<f32>(targets + <usize>n * 4);
    const valid = t >= 0 && t < V;
    const lse = Math.log(sum);
    store<f32>(losses + <usize>n * 4, valid ? <f32>(<f64>w * ((<f64>mx - <f64>load<f32>(x + <usize>t * 4)) * <f64>scale + lse)) : NaN);
    if (!dlogits) continue;
    const factor = <f32>(<f64>w * <f64>scale / sum);
    const sc4 = f32x4.splat(factor);
    j = 0;
    for (; j + 16 <= rowBytes; j += 16) v128.store(d + j, f32x4.mul(v128.load(d + j), sc4));
    for (; j < rowBytes; j += 4) store<f32>(d + j, load<f32>(d + j) * factor);
    if (valid) {
      const dt = d + <usize>t * 4;
      store<f32>(dt, load<f32>(dt) - w * scale);
    }
  }
}
