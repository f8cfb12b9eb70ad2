// Integer inputs (ids, positions) arrive as f32 holding integers; one outside its table is
// clamped into it, so a bad one reads a wrong row but never memory outside the table.

/** The table row that value n of the f32 indices at p names, clamped to [0, rows). */
// @ts-ignore: decorator
@inline export function tableRow(p: usize, n: i32, rows: i32): usize {
  const i = <i32>load<f32>(p + <usize>n * 4);
  return <usize>(i < 0 ? 0 : i >= rows ? rows - 1 : i);
}
