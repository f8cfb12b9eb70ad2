// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a
// counter-based generator. The n-th random block is a pure function of (counter, key), so any
// element of any stream can be drawn independently — on the host here, and on the device by
// kernels/philox.wgsl and wasm/philox.ts, which compute the same bits.
import { ConfigError } from '../errors.js';

/** Round multipliers and Weyl key increments of Philox4x32 (Random123's constants). */
const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const ROUNDS = 10;
const TWO_32 = 2 ** 32;

/** A 4×32-bit counter block and the 2×32-bit key (unsigned 32-bit integers). */
export type PhiloxCounter = readonly [number, number, number, number];
export type PhiloxKey = readonly [number, number];

/** Where a device op draws from: the key comes from `seed`; element i uses counter (stream + i, offset, 0, 0). */
export interface RandomOptions {
  /** An integer 0 ≤ seed < 2⁵³: key = (seed mod 2³², ⌊seed / 2³²⌋). */
  seed: number;
  /** An integer ≥ 0: the counter's word 0 for element 0 (element i uses stream + i, which must stay below 2³²). */
  stream: number;
  /** An integer 0 ≤ offset < 2³²: the counter's word 1 (e.g. the generation step). */
  offset: number;
}

/** High 32 bits of a·b for unsigned 32-bit a, b, from 16-bit halves (every partial product is exact in a double). */
function mulhi(a: number, b: number): number {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const lh = al * bh, hl = ah * bl;
  const mid = ((al * bl) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (ah * bh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/** The Philox4x32-10 block for (counter, key): four unsigned 32-bit words. */
export function philox4x32(counter: PhiloxCounter, key: PhiloxKey): Uint32Array {
  let [c0, c1, c2, c3] = counter.map((w) => w >>> 0) as [number, number, number, number];
  let k0 = key[0] >>> 0, k1 = key[1] >>> 0;
  for (let r = 0; r < ROUNDS; r++) {
    if (r > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi(M0, c0), lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2), lo1 = Math.imul(M1, c2) >>> 0;
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
  }
  return Uint32Array.of(c0, c1, c2, c3);
}

/** A uniform in [0, 1) from a random word: its top 24 bits · 2⁻²⁴, exact in f32 (so device and host agree bit for bit). */
export function uniformFromBits(word: number): number {
  return (word >>> 8) * 2 ** -24;
}

/** Philox's key for a seed; a ConfigError unless 0 ≤ seed < 2⁵³ is an integer. */
function philoxKey(op: string, seed: number): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new ConfigError(`${op}: seed must be an integer in [0, 2^53), got ${seed}`);
  }
  return [seed % TWO_32, Math.floor(seed / TWO_32)];
}

/**
 * Checks a RandomOptions for `count` consecutive elements (a ConfigError naming the bad
 * option otherwise) and returns the key.
 */
export function checkRandomOptions(op: string, o: RandomOptions, count: number): [number, number] {
  const key = philoxKey(op, o.seed);
  if (!Number.isSafeInteger(o.stream) || o.stream < 0 || o.stream + count > TWO_32) {
    throw new ConfigError(`${op}: stream must be an integer with 0 ≤ stream and stream + ${count} ≤ 2^32 (one counter per element), got ${o.stream}`);
  }
  if (!Number.isSafeInteger(o.offset) || o.offset < 0 || o.offset >= TWO_32) {
    throw new ConfigError(`${op}: offset must be an integer in [0, 2^32), got ${o.offset}`);
  }
  return key;
}

/**
 * The host's copy of randomUniform: element i is the uniform of Philox block
 * (stream + i, offset, 0, 0) under the seed's key — the same f32 values the device writes.
 */
export function philoxUniforms(n: number, o: RandomOptions): Float32Array {
  const key = checkRandomOptions('philoxUniforms', o, n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = uniformFromBits(philox4x32([o.stream + i, o.offset, 0, 0], key)[0]!);
  return out;
}
