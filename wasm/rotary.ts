// Rotary position embedding, Hugging Face's rotate-half form (the twin of kernels/rotary.wgsl):
// in each head of D = 2·half values of row n of x [N, W], the pair (i, i + half) rotates by
// the angle of table row positions[n]; sign −1 rotates back. Each pair is read before it is
// written, so out may be x itself. A position past the table is clamped into it.
import { tableRow } from './lib/table_row';

export function rotary_embedding(x: usize, positions: usize, cosTable: usize, sinTable: usize, out: usize, N: i32, W: i32, half: i32, P: i32, sign: f32): void {
  const halfBytes = <usize>half * 4;
  const rowBytes = <usize>W * 4;
  const sign4 = f32x4.splat(sign);
  for (let n = 0; n < N; n++) {
    const t = tableRow(positions, n, P) * halfBytes;
    const c = cosTable + t, s = sinTable + t;
    for (let head: usize = 0; head < rowBytes; head += 2 * halfBytes) {
      const a = <usize>n * rowBytes + head;
      const x1 = x + a, x2 = x + a + halfBytes;
      const o1 = out + a, o2 = out + a + halfBytes;
      let i: usize = 0;
      for (; i + 16 <= halfBytes; i += 16) {
        const c4 = v128.load(c + i), s4 = f32x4.mul(v128.load(s + i), sign4);
        const u = v128.load(x1 + i), v = v128.load(x2 + i);
        v128.store(o1 + i, f32x4.sub(f32x4.mul(u, c4), f32x4.mul(v, s4)));
        v128.store(o2 + i, f32x4.add(f32x4.mul(v, c4), f32x4.mul(u, s4)));
      }
      for (; i < halfBytes; i += 4) {
        const ci = load<f32>(c + i), si = load<f32>(s + i) * sign;
        const u = load<f32>(x1 + i), v = load<f32>(x2 + i);
        store<f32>(o1 + i, u * ci - v * si);
        store<f32>(o2 + i, v * ci + u * si);
      }
    }
  }
}
