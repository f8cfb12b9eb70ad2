// Helpers of the loss kernels (wasm/losses/): element access by index and the numerically
// safe logistic functions in f64 (the WGSL side's are in kernels/lib/math.wgsl).
@inline export function at(p: usize, i: i32): f64 {
  return <f64>load<f32>(p + (<usize>i << 2));
}

@inline export function put(p: usize, i: i32, v: f64): void {
  store<f32>(p + (<usize>i << 2), <f32>v);
}

@inline export function masked(mask: usize, i: i32): bool {
  return load<f32>(mask + (<usize>i << 2)) != 0;
}

/** log σ(x) without overflow. */
export function logSigmoid(x: f64): f64 {
  return -(Math.max(-x, 0) + Math.log1p(Math.exp(-Math.abs(x))));
}

export function sigmoid(x: f64): f64 {
  const e = Math.exp(-Math.abs(x));
  return x >= 0 ? 1 / (1 + e) : e / (1 + e);
}

/** softplus(x) = log(1 + eˣ) without overflow. */
export function softplus(x: f64): f64 {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}
