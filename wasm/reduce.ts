// Row reductions of a [rows, cols] f32 matrix into out[rows].
// Sums run in f64 with four f32 lanes folded pairwise, so long rows keep their precision.

export function reduce_sum(a: usize, out: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const row = a + <usize>r * <usize>cols * 4;
    let acc: f64 = 0;
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const v = v128.load(row + <usize>c * 4);
      acc += <f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1) + <f64>f32x4.extract_lane(v, 2) + <f64>f32x4.extract_lane(v, 3);
    }
    for (; c < cols; c++) acc += <f64>load<f32>(row + <usize>c * 4);
    store<f32>(out + <usize>r * 4, <f32>acc);
  }
}

export function reduce_max(a: usize, out: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const row = a + <usize>r * <usize>cols * 4;
    let best = f32x4.splat(-Infinity);
    let c = 0;
    for (; c + 4 <= cols; c += 4) best = f32x4.max(best, v128.load(row + <usize>c * 4));
    let m = max(max(f32x4.extract_lane(best, 0), f32x4.extract_lane(best, 1)), max(f32x4.extract_lane(best, 2), f32x4.extract_lane(best, 3)));
    for (; c < cols; c++) m = max(m, load<f32>(row + <usize>c * 4));
    store<f32>(out + <usize>r * 4, m);
  }
}
