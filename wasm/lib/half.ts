// 16-bit storage of frozen weights (src/backend/dtype.ts): bf16 and f16 values decoded to f32
// where a kernel reads them. dtype codes: 1 bf16, 2 f16 (0, f32, never comes here).

/** 2^112: an f16's exponent and mantissa moved into an f32's fields, times this, is its value. */
const F16_SCALE: f32 = 5.192296858534828e33;

/** The 4 halves at p (8 bytes, any alignment) as f32s. */
// @ts-ignore: decorator
@inline export function loadHalf4(p: usize, dtype: i32): v128 {
  const h = v128.load16x4_u(p);
  if (dtype == 1) return i32x4.shl(h, 16); // bf16 is an f32's high half
  // f16: exact for normals and subnormals (WebAssembly keeps f32 subnormals); an all-ones
  // exponent is Inf or NaN, kept as such; the sign goes back on last.
  const mag = i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13);
  const scaled = f32x4.mul(mag, f32x4.splat(F16_SCALE));
  const special = i32x4.eq(v128.and(h, i32x4.splat(0x7c00)), i32x4.splat(0x7c00));
  const v = v128.bitselect(v128.or(mag, i32x4.splat(0x7f800000)), scaled, special);
  return v128.or(v, i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16));
}

/** The half at p as an f32. */
// @ts-ignore: decorator
@inline export function loadHalf(p: usize, dtype: i32): f32 {
  const h = <u32>load<u16>(p);
  if (dtype == 1) return reinterpret<f32>(h << 16);
  const mag = (h & 0x7fff) << 13;
  const v = (h & 0x7c00) == 0x7c00 ? mag | 0x7f800000 : reinterpret<u32>(reinterpret<f32>(mag) * F16_SCALE);
  return reinterpret<f32>(v | ((h & 0x8000) << 16));
}

/** dst[0..n) = the n halves at src, as f32s. */
export function decodeHalves(src: usize, dst: usize, n: i32, dtype: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), loadHalf4(src + (<usize>i << 1), dtype));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), loadHalf(src + (<usize>i << 1), dtype));
}
