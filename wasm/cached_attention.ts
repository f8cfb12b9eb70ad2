// Attention of T new queries against a key/value cache [B, Hkv, S, D] (incremental decoding).
// Query i of row b sees the keys j ≤ start + i that keyMask marks real; query head h reads KV
// head h / (H/Hkv) (grouped-query attention; Hkv = H is multi-head). Each (b, i, h) is a
// row: an online softmax walks the visible keys once, rescaling the output accumulator
// whenever the running max grows, so nothing the size of S is stored. Rows are independent,
// so (part, parts) splits them across threads with the same result.
import { rowShare } from './lib/row_share';
import { expf1 } from './lib/simd_math';


/** Σ_d a[d]·b[d] over D floats. */
// @ts-ignore: decorator
@inline function dot(a: usize, b: usize, D: i32): f32 {
  let acc = f32x4.splat(0);
  const bytes = <usize>D * 4;
  let d: usize = 0;
  for (; d + 16 <= bytes; d += 16) acc = f32x4.add(acc, f32x4.mul(v128.load(a + d), v128.load(b + d)));
  let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; d < bytes; d += 4) s += load<f32>(a + d) * load<f32>(b + d);
  return s;
}

/** o[d] = o[d]·c + w·v[d] over D floats. */
// @ts-ignore: decorator
@inline function scaleAdd(o: usize, c: f32, w: f32, v: usize, D: i32): void {
  const c4 = f32x4.splat(c);
  const w4 = f32x4.splat(w);
  const bytes = <usize>D * 4;
  let d: usize = 0;
  for (; d + 16 <= bytes; d += 16) v128.store(o + d, f32x4.add(f32x4.mul(v128.load(o + d), c4), f32x4.mul(v128.load(v + d), w4)));
  for (; d < bytes; d += 4) store<f32>(o + d, load<f32>(o + d) * c + load<f32>(v + d) * w);
}

/** out[b, i, h·D : (h+1)·D] = Σⱼ softmax(q·kⱼ/√D)·vⱼ over the keys query i sees. */
export function cached_attention(qkv: usize, kCache: usize, vCache: usize, keyMask: usize, out: usize,
  B: i32, T: i32, H: i32, Hkv: i32, D: i32, S: i32, W: i32, start: i32, part: i32, parts: i32): void {
  const rows = B * T * H;
  const r1 = rowShare(rows, part + 1, parts);
  const scale: f32 = 1 / Mathf.sqrt(<f32>D);
  const rowBytes = <usize>D * 4;
  const group = H / Hkv;
  for (let r = rowShare(rows, part, parts); r < r1; r++) {
    const h = r % H;
    const bi = r / H;
    const b = bi / T;
    const last = start + bi % T;
    const q = qkv + (<usize>bi * <usize>W + <usize>h * <usize>D) * 4;
    const o = out + (<usize>bi * <usize>(H * D) + <usize>h * <usize>D) * 4;
    const cache = (<usize>(b * Hkv + h / group) * <usize>S * <usize>D) * 4;
    const mask = keyMask + <usize>b * <usize>S * 4;
    memory.fill(o, 0, rowBytes);
    let m: f32 = -Infinity;
    let l: f32 = 0;
    for (let j = 0; j <= last; j++) {
      if (load<f32>(mask + <usize>j * 4) < 0.5) continue;
      const at = cache + <usize>j * rowBytes;
      const s = dot(q, kCache + at, D) * scale;
      // A new max rescales what was summed so far; otherwise the old scale (1) stays.
      const c: f32 = s > m ? expf1(m - s) : 1;
      if (s > m) m = s;
      const w = expf1(s - m);
      l = l * c + w;
      scaleAdd(o, c, w, vCache + at, D);
    }
    if (l > 0) {
      const inv: f32 = 1 / l;
      for (let d: usize = 0; d < rowBytes; d += 4) store<f32>(o + d, load<f32>(o + d) * inv);
    }
  }
}
