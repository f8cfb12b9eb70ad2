// Column sums in f64 (column_sum, layernorm_backward's dweight and dbias).
import { highHalf } from './simd_math';

/** acc[c] += <f64>row[c] for c < cols (acc is f64). */
export function accumulateRow(row: usize, acc: usize, cols: i32): void {
  let c = 0;
  for (; c + 4 <= cols; c += 4) {
    const v = v128.load(row + <usize>c * 4);
    const p = acc + <usize>c * 8;
    v128.store(p, f64x2.add(v128.load(p), f64x2.promote_low_f32x4(v)));
    v128.store(p + 16, f64x2.add(v128.load(p + 16), f64x2.promote_low_f32x4(highHalf(v))));
  }
  for (; c < cols; c++) {
    const p = acc + <usize>c * 8;
    store<f64>(p, load<f64>(p) + <f64>load<f32>(row + <usize>c * 4));
  }
}

/** out[c] += <f32>acc[c] (acc is f64). */
export function addColumns(acc: usize, out: usize, cols: i32): void {
  for (let c = 0; c < cols; c++) {
    const o = out + <usize>c * 4;
    store<f32>(o, load<f32>(o) + <f32>load<f64>(acc + <usize>c * 8));
  }
}
