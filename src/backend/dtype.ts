// Storage dtypes of tensors. Tensors are f32 unless they hold frozen weights, which may be
// stored in 16 bits (bf16 or f16) and are read by the kernels that read weights (matmul's B,
// the embedding tables) and computed with in f32. The host rounds to and decodes from them.
import { DTypeError } from '../errors.js';

export type DType = 'f32' | 'bf16' | 'f16';

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<DType, number>> = { f32: 4, bf16: 2, f16: 2 };

/** The kernels' code for an operand's dtype (WGSL overrides *_DTYPE, WASM parameters *Type). */
export const DTYPE_CODES: Readonly<Record<DType, number>> = { f32: 0, bf16: 1, f16: 2 };

/**
 * Elements between the places a view may start: 256 bytes, as WebGPU binds buffer ranges only
 * at multiples of minStorageBufferOffsetAlignment (256 on every adapter): 64 f32s, 128 halves.
 */
export function viewAlign(dtype: DType): number {
  return 256 / DTYPE_BYTES[dtype];
}

/** Fails unless `dtype` is one a tensor may be stored in. */
export function checkDType(dtype: unknown, what: string): DType {
  if (dtype !== 'f32' && dtype !== 'bf16' && dtype !== 'f16') {
    throw new DTypeError(`${what}: dtype ${JSON.stringify(dtype)} is not one of 'f32', 'bf16', 'f16'`);
  }
  return dtype;
}

const word = new Float32Array(1);
const bits = new Uint32Array(word.buffer);

/** bf16 bits of x rounded to nearest, ties to even; a NaN stays a (quiet) NaN of its sign. */
export function bf16Bits(x: number): number {
  word[0] = x;
  const b = bits[0]!;
  if ((b & 0x7fffffff) > 0x7f800000) return (b >>> 16) | 0x40;
  return (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
}

/** f16 bits of x rounded to nearest, ties to even: subnormals below 2⁻¹⁴, ±Inf past 65504, NaN kept. */
export function f16Bits(x: number): number {
  word[0] = x;
  const b = bits[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 112; // the f16 exponent field
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal: the 24-bit significand shifted down to units of 2⁻²⁴ (0 below half of one).
    const shift = 14 - e;
    if (shift > 24) return sign;
    const m = mant | 0x800000;
    const h = m >>> shift;
    const rem = m - h * 2 ** shift;
    const half = 2 ** (shift - 1);
    return sign | (rem > half || (rem === half && (h & 1)) ? h + 1 : h);
  }
  const h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the significand steps the exponent up (to Inf past the largest finite).
  return sign | (rem > 0x1000 || (rem === 0x1000 && (h & 1)) ? h + 1 : h);
}

let f16Table: Float32Array | undefined;

/** Every f16 bit pattern's value (built once, 256 KiB): decoding is one lookup. */
function f16Values(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    const v = e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15);
    t[h] = h & 0x8000 ? -v : v;
  }
  return (f16Table = t);
}

/** Host values in a dtype's storage: the Float32Array itself for f32, else rounded 16-bit words. */
export function encode(data: Float32Array, dtype: DType): Float32Array | Uint16Array {
  if (dtype === 'f32') return data;
  const out = new Uint16Array(data.length);
  const round = dtype === 'bf16' ? bf16Bits : f16Bits;
  for (let i = 0; i < data.length; i++) out[i] = round(data[i]!);
  return out;
}

/** Stored values back as f32 (exact: every bf16 and f16 value is an f32). */
export function decode(stored: Float32Array | Uint16Array, dtype: DType): Float32Array {
  if (stored instanceof Float32Array) return stored;
  const out = new Float32Array(stored.length);
  if (dtype === 'bf16') {
    const wide = new Uint32Array(out.buffer);
    for (let i = 0; i < stored.length; i++) wide[i] = stored[i]! << 16;
  } else {
    const table = f16Values();
    for (let i = 0; i < stored.length; i++) out[i] = table[stored[i]!]!;
  }
  return out;
}

/** Values as the dtype stores them (rounded once, so a later rounding leaves them unchanged). */
export function roundTo(data: Float32Array, dtype: DType): Float32Array {
  return dtype === 'f32' ? data : decode(encode(data, dtype), dtype);
}
