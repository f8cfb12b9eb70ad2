// tokenLogprobs over logits [N, V], one row at a time. With d = scale·(x − max) ≤ 0,
// S = Σ e^d and D = Σ e^d·d (f64 sums): logprobs[n] = d_t − log S (NaN for a target that is
// not an integer in [0, V)) and entropies[n] = log S − D / S. Subtracting before scaling keeps
// d exact for the max token and its error relative to |d|. Takes (part, parts): share `part`
// of the rows.
import { rowShare } from './lib/row_share';
import { expOrZero4, highHalf, hsum2, kv, K_EXP_MIN, rowMax } from './lib/simd_math';

export function token_logprobs(logits: usize, targets: usize, logprobs: usize, entropies: usize, N: i32, V: i32, scale: f32, part: i32, parts: i32): void {
  const rowBytes = <usize>V * 4;
  const sc4 = f32x4.splat(scale);
  const n1 = rowShare(N, part + 1, parts);
  for (let n = rowShare(N, part, parts); n < n1; n++) {
    const x = logits + <usize>n * rowBytes;
    const mx = rowMax(x, rowBytes);
    const m4 = f32x4.splat(mx);
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0), t0 = f64x2.splat(0), t1 = f64x2.splat(0);
    let j: usize = 0;
    for (; j + 16 <= rowBytes; j += 16) {
      const d = f32x4.mul(f32x4.sub(v128.load(x + j), m4), sc4);
      const e = expOrZero4(d);
      // e is 0 wherever d < −80: clamping d there keeps e·d at 0 even if d overflowed to −inf.
      const dc = f32x4.pmax(d, kv(K_EXP_MIN));
      const lo = f64x2.promote_low_f32x4(e), hi = f64x2.promote_low_f32x4(highHalf(e));
      s0 = f64x2.add(s0, lo);
      s1 = f64x2.add(s1, hi);
      t0 = f64x2.add(t0, f64x2.mul(lo, f64x2.promote_low_f32x4(dc)));
      t1 = f64x2.add(t1, f64x2.mul(hi, f64x2.promote_low_f32x4(highHalf(dc))));
    }
    let S = hsum2(s0) + hsum2(s1), D = hsum2(t0) + hsum2(t1);
    for (; j < rowBytes; j += 4) {
      const d = f32x4.splat((load<f32>(x + j) - mx) * scale);
      const e = <f64>f32x4.extract_lane(expOrZero4(d), 0);
      S += e;
      D += e * <f64>f32x4.extract_lane(f32x4.pmax(d, kv(K_EXP_MIN)), 0);
    }
    const logS = Math.log(S);
    store<f32>(entropies + <usize>n * 4, <f32>(logS - D / S));
    const t = load<f32>(targets + <usize>n * 4);
    const valid = t >= 0 && t < <f32>V && t == Mathf.floor(t);
    store<f32>(logprobs + <usize>n * 4, valid ? <f32>(<f64>((load<f32>(x + <usize>t * 4) - mx) * scale) - logS) : NaN);
  }
}
