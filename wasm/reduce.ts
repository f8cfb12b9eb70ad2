// Row reductions of a [rows, cols] f32 matrix into out[rows].
// Sums run in f64 with four f32 lanes folded pairwise, so long rows keep their precision.
import { accumulateRow, addColumns } from './lib/columns';
import { hsum2, highHalf } from './lib/simd_math';

/** out[r] = the reduction `op` (0 sum, 1 max, 2 sum of squares) of row r of a [rows, cols]. */
export function reduce(a: usize, out: usize, rows: i32, cols: i32, op: i32): void {
  if (op == 1) reduceMax(a, out, rows, cols);
  else if (op == 2) reduceSumSquares(a, out, rows, cols);
  else reduceSum(a, out, rows, cols);
}

function reduceSum(a: usize, out: usize, rows: i32, cols: i32): void {
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

function reduceMax(a: usize, out: usize, rows: i32, cols: i32): void {
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

/** out[r] = Σ a[r, c]², squared and summed in f64. */
function reduceSumSquares(a: usize, out: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const row = a + <usize>r * <usize>cols * 4;
    let acc0 = f64x2.splat(0), acc1 = f64x2.splat(0);
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const v = v128.load(row + <usize>c * 4);
      const lo = f64x2.promote_low_f32x4(v), hi = f64x2.promote_low_f32x4(highHalf(v));
      acc0 = f64x2.add(acc0, f64x2.mul(lo, lo));
      acc1 = f64x2.add(acc1, f64x2.mul(hi, hi));
    }
    let acc = hsum2(acc0) + hsum2(acc1);
    for (; c < cols; c++) {
      const x = <f64>load<f32>(row + <usize>c * 4);
      acc += x * x;
    }
    store<f32>(out + <usize>r * 4, <f32>acc);
  }
}

/**
 * out[c] += Σᵣ a[r, c] (the gradient of a bias). The column sums run in f64 in `scratch`
 * (cols f64, given by JavaScript), row after row, then are added to out once.
 */
export function column_sum(a: usize, out: usize, rows: i32, cols: i32, scratch: usize): void {
  memory.fill(scratch, 0, <usize>cols * 8);
  for (let r = 0; r < rows; r++) accumulateRow(a + <usize>r * <usize>cols * 4, scratch, cols);
  addColumns(scratch, out, cols);
}
