// Activations and their derivatives (the twins of kernels/activations.wgsl).
//
// GELU, tanh approximation (GPT-2's): 0.5·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³),
// computed as x·σ(2u) = x / (1 + e^(−2u)), which is the same function without the
// cancellation of 1 + tanh(u) for negative x. e^z is clamped (simd_math.ts) and very
// negative x gives 0, so no finite x gives inf or NaN.
import { K_GELU_3A, K_GELU_A, K_GELU_HI, K_GELU_K, K_GELU_LO, K_MINUS_TWO, K_ONE, K_ZERO, expf4, kv } from './lib/simd_math';

/** e^(−2u) per lane. */
// @ts-ignore: decorator
@inline function expMinus2u(x: v128): v128 {
  const x2 = f32x4.mul(x, x);
  const u = f32x4.mul(f32x4.mul(x, kv(K_GELU_K)), f32x4.add(kv(K_ONE), f32x4.mul(x2, kv(K_GELU_A))));
  return expf4(f32x4.mul(u, kv(K_MINUS_TWO)));
}

/** x / (1 + e^(−2u)); exactly 0 below x = −20 (GELU is under 1e-300 there), NaN stays NaN. */
// @ts-ignore: decorator
@inline function gelu4(x: v128): v128 {
  const y = f32x4.div(x, f32x4.add(kv(K_ONE), expMinus2u(x)));
  return v128.andnot(y, f32x4.lt(x, kv(K_GELU_LO)));
}

/**
 * dout·GELU′(x). With s = σ(2u) = 0.5(1 + tanh u): GELU′ = s + 2x·s(1 − s)·u′, where
 * u′ = √(2/π)(1 + 3·0.044715·x²) and 1 − s = e·s. x is clamped to ±20 first: GELU′ is
 * 1 (or 0) to f32 precision beyond, and a huge x would give 0·inf.
 */
// @ts-ignore: decorator
@inline function geluGrad4(x: v128, d: v128): v128 {
  x = f32x4.pmin(f32x4.pmax(x, kv(K_GELU_LO)), kv(K_GELU_HI));
  const e = expMinus2u(x);
  const s = f32x4.div(kv(K_ONE), f32x4.add(kv(K_ONE), e));
  const du = f32x4.mul(kv(K_GELU_K), f32x4.add(kv(K_ONE), f32x4.mul(f32x4.mul(x, x), kv(K_GELU_3A))));
  const s1s = f32x4.mul(f32x4.mul(s, s), e);
  const g = f32x4.add(s, f32x4.mul(f32x4.mul(f32x4.add(x, x), s1s), du));
  return f32x4.mul(d, g);
}

export function gelu(x: usize, out: usize, n: i32): void {
  const bytes = <usize>n * 4;
  let i: usize = 0;
  for (; i + 16 <= bytes; i += 16) v128.store(out + i, gelu4(v128.load(x + i)));
  for (; i < bytes; i += 4) store<f32>(out + i, f32x4.extract_lane(gelu4(f32x4.splat(load<f32>(x + i))), 0));
}

export function gelu_backward(dout: usize, x: usize, dx: usize, n: i32): void {
  const bytes = <usize>n * 4;
  let i: usize = 0;
  for (; i + 16 <= bytes; i += 16) v128.store(dx + i, geluGrad4(v128.load(x + i), v128.load(dout + i)));
  for (; i < bytes; i += 4) {
    store<f32>(dx + i, f32x4.extract_lane(geluGrad4(f32x4.splat(load<f32>(x + i)), f32x4.splat(load<f32>(dout + i))), 0));
  }
}

// SiLU(x) = x·σ(x) (the gate of SwiGLU, Llama's MLP), and SiLU′ = σ(x)·(1 + x·(1 − σ(x))).
// SwiGLU's product SiLU(gate) ⊙ up and its two gradients reuse them.

/** σ(x) per lane without overflow: e^−|x| never exceeds 1 (below e^−80 it is clamped there). */
// @ts-ignore: decorator
@inline function sigmoid4(x: v128): v128 {
  const e = expf4(f32x4.neg(f32x4.abs(x)));
  const inv = f32x4.div(kv(K_ONE), f32x4.add(kv(K_ONE), e));
  return v128.bitselect(inv, f32x4.mul(e, inv), f32x4.ge(x, kv(K_ZERO)));
}

// @ts-ignore: decorator
@inline function silu4(x: v128): v128 {
  return f32x4.mul(x, sigmoid4(x));
}

/** d·SiLU′(x), given s = σ(x). */
// @ts-ignore: decorator
@inline function siluGradOf(x: v128, s: v128, d: v128): v128 {
  return f32x4.mul(f32x4.mul(d, s), f32x4.add(kv(K_ONE), f32x4.mul(x, f32x4.sub(kv(K_ONE), s))));
}

// @ts-ignore: decorator
@inline function siluGrad4(x: v128, d: v128): v128 {
  return siluGradOf(x, sigmoid4(x), d);
}

export function silu(x: usize, out: usize, n: i32): void {
  const bytes = <usize>n * 4;
  let i: usize = 0;
  for (; i + 16 <= bytes; i += 16) v128.store(out + i, silu4(v128.load(x + i)));
  for (; i < bytes; i += 4) store<f32>(out + i, f32x4.extract_lane(silu4(f32x4.splat(load<f32>(x + i))), 0));
}

export function silu_backward(dout: usize, x: usize, dx: usize, n: i32): void {
  const bytes = <usize>n * 4;
  let i: usize = 0;
  for (; i + 16 <= bytes; i += 16) v128.store(dx + i, siluGrad4(v128.load(x + i), v128.load(dout + i)));
  for (; i < bytes; i += 4) {
    store<f32>(dx + i, f32x4.extract_lane(siluGrad4(f32x4.splat(load<f32>(x + i)), f32x4.splat(load<f32>(dout + i))), 0));
  }
}

/** out = SiLU(gate) ⊙ up. */
export function swiglu(gate: usize, up: usize, out: usize, n: i32): void {
  const bytes = <usize>n * 4;
  let i: usize = 0;
  for (; i + 16 <= bytes; i += 16) v128.store(out + i, f32x4.mul(silu4(v128.load(gate + i)), v128.load(up + i)));
  for (; i < bytes; i += 4) store<f32>(out + i, f32x4.extract_lane(silu4(f32x4.splat(load<f32>(gate + i))), 0) * load<f32>(up + i));
}

/** Stores dgate = d·up·SiLU′(g) and dup = d·SiLU(g): four lanes, or (`whole` false) lane 0 only. */
// @ts-ignore: decorator
@inline function swigluGrads(g: v128, u: v128, d: v128, dgate: usize, dup: usize, whole: bool): void {
  const s = sigmoid4(g);
  const dg = siluGradOf(g, s, f32x4.mul(d, u));
  const du = f32x4.mul(d, f32x4.mul(g, s));
  if (whole) {
    v128.store(dgate, dg);
    v128.store(dup, du);
  } else {
    store<f32>(dgate, f32x4.extract_lane(dg, 0));
    store<f32>(dup, f32x4.extract_lane(du, 0));
  }
}

export function swiglu_backward(dout: usize, gate: usize, up: usize, dgate: usize, dup: usize, n: i32): void {
  const bytes = <usize>n * 4;
  let i: usize = 0;
  for (; i + 16 <= bytes; i += 16) swigluGrads(v128.load(gate + i), v128.load(up + i), v128.load(dout + i), dgate + i, dup + i, true);
  for (; i < bytes; i += 4) {
    const g = f32x4.splat(load<f32>(gate + i)), u = f32x4.splat(load<f32>(up + i)), d = f32x4.splat(load<f32>(dout + i));
    swigluGrads(g, u, d, dgate + i, dup + i, false);
  }
}
