// How row-parallel kernels split their rows across threads.

/** First row of share `part` of `rows` (whole rows; every split computes each row alike). */
// @ts-ignore: decorator
@inline export function rowShare(rows: i32, part: i32, parts: i32): i32 {
  return <i32>(<i64>rows * part / parts);
}
