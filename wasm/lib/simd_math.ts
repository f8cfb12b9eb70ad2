// Shared SIMD helpers for the layer kernels (not exported from the module).
//
// Vector constants are loaded from a static table rather than written as v128.const: V8
// rebuilds a v128.const from immediates at every use inside a loop (several instructions
// each), while a splat load from L1 is one.

/** The constants, as f32 lanes; K_* are their byte offsets. */
const TABLE = memory.data<f32>([
  1.44269504088896341, // log2(e)
  12582912, // 1.5·2²³
  0.693359375, -2.12194440e-4, // ln 2, Cody–Waite split
  -80, 80, // the clamp of e^z's argument
  1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1, // Cephes expf
  1, 0.5, 0, -2,
  0.7978845608028654, 0.044715, 3 * 0.044715, -20, 20, // GELU: √(2/π), a, 3a, and its clamps
]);
export const K_LOG2E = 0, K_ROUND = 1, K_LN2_HI = 2, K_LN2_LO = 3, K_EXP_MIN = 4, K_EXP_MAX = 5, K_P0 = 6;
export const K_ONE = 12, K_HALF = 13, K_ZERO = 14, K_MINUS_TWO = 15;
export const K_GELU_K = 16, K_GELU_A = 17, K_GELU_3A = 18, K_GELU_LO = 19, K_GELU_HI = 20;

/** Constant `k` of the table in every lane. */
// @ts-ignore: decorator
@inline export function kv(k: i32): v128 {
  return v128.load32_splat(TABLE + <usize>k * 4);
}

/**
 * e^z in each lane, for z clamped to [−80, 80] (so 2ⁿ stays a normal float: no inf, no NaN;
 * NaN stays NaN). Cody–Waite reduction and Cephes' expf polynomial: about 1 ulp.
 */
// @ts-ignore: decorator
@inline export function expf4(z: v128): v128 {
  z = f32x4.pmin(f32x4.pmax(z, kv(K_EXP_MIN)), kv(K_EXP_MAX));
  // Adding 1.5·2²³ rounds z·log2(e) to an integer n (ties to even) and leaves n in the low
  // mantissa bits, so shifting those bits into the exponent field gives 2ⁿ without a convert.
  const t = f32x4.add(f32x4.mul(z, kv(K_LOG2E)), kv(K_ROUND));
  const n = f32x4.sub(t, kv(K_ROUND));
  let r = f32x4.sub(z, f32x4.mul(n, kv(K_LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, kv(K_LN2_LO)));
  let p = kv(K_P0);
  p = f32x4.add(f32x4.mul(p, r), kv(K_P0 + 1));
  p = f32x4.add(f32x4.mul(p, r), kv(K_P0 + 2));
  p = f32x4.add(f32x4.mul(p, r), kv(K_P0 + 3));
  p = f32x4.add(f32x4.mul(p, r), kv(K_P0 + 4));
  p = f32x4.add(f32x4.mul(p, r), kv(K_P0 + 5));
  const y = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), kv(K_ONE));
  const scale = i32x4.add(i32x4.shl(t, 23), kv(K_ONE)); // 1.0f's bits are 127 << 23
  return f32x4.mul(y, scale);
}

/** The same e^z for one value (lane 0 of expf4), so vector bodies and scalar tails agree. */
// @ts-ignore: decorator
@inline export function expf1(z: f32): f32 {
  return f32x4.extract_lane(expf4(f32x4.splat(z)), 0);
}

/** Sum of the four f32 lanes, in a fixed order. */
// @ts-ignore: decorator
@inline export function hsum4(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** Sum of the two f64 lanes. */
// @ts-ignore: decorator
@inline export function hsum2(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

/** Lanes 2, 3 of an f32x4 moved to lanes 0, 1 (for promote_low of the high half). */
// @ts-ignore: decorator
@inline export function highHalf(v: v128): v128 {
  return i32x4.shuffle(v, v, 2, 3, 2, 3);
}

/** e^z in each lane (expf4), and exactly 0 below −80, where expf4 clamps (the true value is < 2⁻¹¹⁵). */
// @ts-ignore: decorator
@inline export function expOrZero4(z: v128): v128 {
  return v128.andnot(expf4(z), f32x4.lt(z, kv(K_EXP_MIN)));
}

/** The largest of the `bytes / 4` f32 values at x (at least one). */
export function rowMax(x: usize, bytes: usize): f32 {
  let m4 = f32x4.splat(-Infinity);
  let j: usize = 0;
  for (; j + 16 <= bytes; j += 16) m4 = f32x4.pmax(m4, v128.load(x + j));
  let m = max(max(f32x4.extract_lane(m4, 0), f32x4.extract_lane(m4, 1)), max(f32x4.extract_lane(m4, 2), f32x4.extract_lane(m4, 3)));
  for (; j < bytes; j += 4) m = max(m, load<f32>(x + j));
  return m;
}
