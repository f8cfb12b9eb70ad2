// out[b] = alpha · op(A[b]) · op(B[b]) (+ bias) (+ out[b] when accumulate), row-major f32.
// Pointers are byte offsets into linear memory; strides are in elements (strideB 0 broadcasts B).
// Threads: the call is split into `parts`; this one computes part `part` (its batch entries,
// or its rows when there are fewer batch entries than parts), using its own scratch slice.
export function matmul(
  a: usize, b: usize, bias: usize, out: usize,
  M: i32, N: i32, K: i32, batch: i32,
  strideA: i32, strideB: i32, strideOut: i32,
  transA: bool, transB: bool, alpha: f32, accumulate: bool,
  scratch: usize, scratchStride: i32, part: i32, parts: i32,
): void {
  let b0 = 0, b1 = batch, m0 = 0, m1 = M;
  if (batch >= parts) {
    b0 = <i32>(<i64>batch * part / parts);
    b1 = <i32>(<i64>batch * (part + 1) / parts);
  } else {
    m0 = <i32>(<i64>M * part / parts);
    m1 = <i32>(<i64>M * (part + 1) / parts);
  }
  for (let bi = b0; bi < b1; bi++) {
    const pa = a + <usize>(bi * strideA) * 4;
    const pb = b + <usize>(bi * strideB) * 4;
    const po = out + <usize>(bi * strideOut) * 4;
    for (let m = m0; m < m1; m++) {
      for (let n = 0; n < N; n++) {
        let acc: f32 = 0;
        for (let k = 0; k < K; k++) {
          const av = load<f32>(pa + <usize>(transA ? k * M + m : m * K + k) * 4);
          const bv = load<f32>(pb + <usize>(transB ? n * K + k : k * N + n) * 4);
          acc += av * bv;
        }
        let v = alpha * acc;
        if (bias) v += load<f32>(bias + <usize>n * 4);
        const p = po + <usize>(m * N + n) * 4;
        if (accumulate) v += load<f32>(p);
        store<f32>(p, v);
      }
    }
  }
}

/** Scratch bytes one part of a matmul needs (packing buffers). */
export function matmul_scratch_bytes(): i32 {
  return 64;
}
