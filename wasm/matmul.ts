// out[b] = alpha · op(A[b]) · op(B[b]) (+ bias) (+ out[b] when accumulate), row-major f32.
// Pointers are byte offsets into linear memory; strides are in elements (strideB 0 broadcasts B).
export function matmul(
  a: usize, b: usize, bias: usize, out: usize,
  M: i32, N: i32, K: i32, batch: i32,
  strideA: i32, strideB: i32, strideOut: i32,
  transA: bool, transB: bool, alpha: f32, accumulate: bool,
): void {
  for (let bi = 0; bi < batch; bi++) {
    const pa = a + <usize>(bi * strideA) * 4;
    const pb = b + <usize>(bi * strideB) * 4;
    const po = out + <usize>(bi * strideOut) * 4;
    for (let m = 0; m < M; m++) {
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
