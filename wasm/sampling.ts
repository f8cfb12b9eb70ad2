// sampleTokens over logits [N, V] (the semantics are sampleTokens's, src/ops/sampling.ts), one row at a
// time in the steps of kernels/sampling.wgsl: greedy is the lowest index of the max; else the
// topK and topP thresholds are bisections over the logits' order keys (each pass counts or
// weighs the keys ≥ mid and snaps the bounds to the nearest real keys), and the token is the
// first kept index whose running mass passes u · the kept mass. The row's keys and weights go
// to scratch first, padded to whole vectors (pad keys are the lowest key, below every finite
// logit's; pad weights 0), so each pass is whole vectors. Masses are f64. Takes (part, parts):
// share `part` of the rows, each part with its own scratch.
import { rowShare } from './lib/row_share';
import { philoxUniform } from './lib/philox';
import { expOrZero4, highHalf, hsum2, rowMax } from './lib/simd_math';

const LOWEST_KEY = i32.MIN_VALUE;
const HIGHEST_KEY = i32.MAX_VALUE;

/** Scratch bytes one part needs for rows of V logits: keys and weights, each padded to a multiple of 4. */
export function sample_scratch_bytes(V: i32): i32 {
  return ((V + 3) & ~3) * 8;
}

/**
 * Order keys: i32s that order as the f32 values do (−0 counts as +0). Positive floats keep
 * their bits, negative ones flip all bits but the sign. NaN bits 0xFFFFFFFF give LOWEST_KEY.
 */
// @ts-ignore: decorator
@inline function orderKeys4(v: v128): v128 {
  const b = v128.andnot(v, i32x4.eq(v, i32x4.splat(0x80000000)));
  return v128.xor(b, i32x4.shr_u(i32x4.shr_s(b, 31), 1));
}

// @ts-ignore: decorator
@inline function keyValue(k: i32): f32 {
  return reinterpret<f32>(k ^ <i32>(<u32>(k >> 31) >>> 1));
}

/** A key strictly above lo and at most hi (lo < hi), halfway. */
// @ts-ignore: decorator
@inline function above(lo: i32, hi: i32): i32 {
  return <i32>(<i64>lo + ((<i64>hi - <i64>lo) >> 1) + 1);
}

// Results of the last pass (instance globals: each thread has its own).
let passCount: i32 = 0;
let passMass: f64 = 0;
let passMin: i32 = 0;
let passMax: i32 = 0;

// @ts-ignore: decorator
@inline function minLane(v: v128): i32 {
  return min(min(i32x4.extract_lane(v, 0), i32x4.extract_lane(v, 1)), min(i32x4.extract_lane(v, 2), i32x4.extract_lane(v, 3)));
}

// @ts-ignore: decorator
@inline function maxLane(v: v128): i32 {
  return max(max(i32x4.extract_lane(v, 0), i32x4.extract_lane(v, 1)), max(i32x4.extract_lane(v, 2), i32x4.extract_lane(v, 3)));
}

/** Keys ≥ mid: how many (passCount), the least (passMin); the greatest key below mid (passMax). */
function countPass(keys: usize, bytes: usize, mid: i32): void {
  const mid4 = i32x4.splat(mid);
  let count = i32x4.splat(0), lo = i32x4.splat(HIGHEST_KEY), hi = i32x4.splat(LOWEST_KEY);
  for (let j: usize = 0; j < bytes; j += 16) {
    const k = v128.load(keys + j);
    const ge = i32x4.ge_s(k, mid4);
    count = i32x4.sub(count, ge); // ge lanes are −1
    lo = i32x4.min_s(lo, v128.bitselect(k, i32x4.splat(HIGHEST_KEY), ge));
    hi = i32x4.max_s(hi, v128.bitselect(i32x4.splat(LOWEST_KEY), k, ge));
  }
  passCount = i32x4.extract_lane(count, 0) + i32x4.extract_lane(count, 1) + i32x4.extract_lane(count, 2) + i32x4.extract_lane(count, 3);
  passMin = minLane(lo);
  passMax = maxLane(hi);
}

/** Over kept keys (≥ keep): the mass of the keys ≥ mid (passMass), the least of them (passMin), the greatest kept key below mid (passMax). */
function massPass(keys: usize, weights: usize, bytes: usize, keep: i32, mid: i32): void {
  const mid4 = i32x4.splat(mid), keep4 = i32x4.splat(keep);
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0), lo = i32x4.splat(HIGHEST_KEY), hi = i32x4.splat(LOWEST_KEY);
  for (let j: usize = 0; j < bytes; j += 16) {
    const k = v128.load(keys + j);
    const ge = i32x4.ge_s(k, mid4);
    const w = v128.and(v128.load(weights + j), ge);
    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(w));
    s1 = f64x2.add(s1, f64x2.promote_low_f32x4(highHalf(w)));
    lo = i32x4.min_s(lo, v128.bitselect(k, i32x4.splat(HIGHEST_KEY), ge));
    const below = v128.andnot(i32x4.ge_s(k, keep4), ge);
    hi = i32x4.max_s(hi, v128.bitselect(k, i32x4.splat(LOWEST_KEY), below));
  }
  passMass = hsum2(s0) + hsum2(s1);
  passMin = minLane(lo);
  passMax = maxLane(hi);
}

export function sample_tokens(
  logits: usize, out: usize, N: i32, V: i32, key0: u32, key1: u32, stream: u32, offset: u32,
  invT: f32, topK: i32, topP: f64, greedy: i32, scratch: usize, part: i32, parts: i32,
): void {
  const rowBytes = <usize>V * 4;
  const padded = <usize>((V + 3) & ~3) * 4;
  const keys = scratch + <usize>part * <usize>sample_scratch_bytes(V);
  const weights = keys + padded;
  const n1 = rowShare(N, part + 1, parts);
  for (let n = rowShare(N, part, parts); n < n1; n++) {
    const x = logits + <usize>n * rowBytes;
    if (greedy) {
      const mx = rowMax(x, rowBytes);
      let i = 0;
      while (i < V - 1 && load<f32>(x + <usize>i * 4) != mx) i++;
      store<f32>(out + <usize>n * 4, <f32>i);
      continue;
    }
    // Keys, their range, and the padding.
    let lo4 = i32x4.splat(HIGHEST_KEY), hi4 = i32x4.splat(LOWEST_KEY);
    let j: usize = 0;
    for (; j + 16 <= rowBytes; j += 16) {
      const k = orderKeys4(v128.load(x + j));
      v128.store(keys + j, k);
      lo4 = i32x4.min_s(lo4, k);
      hi4 = i32x4.max_s(hi4, k);
    }
    let minKey = minLane(lo4), maxKey = maxLane(hi4);
    for (; j < rowBytes; j += 4) {
      const k = i32x4.extract_lane(orderKeys4(v128.load32_splat(x + j)), 0);
      store<i32>(keys + j, k);
      minKey = min(minKey, k);
      maxKey = max(maxKey, k);
    }
    for (; j < padded; j += 4) {
      store<i32>(keys + j, LOWEST_KEY);
      store<f32>(weights + j, 0);
    }
    // Weights exp((x − max) / T).
    const m4 = f32x4.splat(keyValue(maxKey)), t4 = f32x4.splat(invT);
    for (j = 0; j + 16 <= rowBytes; j += 16) v128.store(weights + j, expOrZero4(f32x4.mul(f32x4.sub(v128.load(x + j), m4), t4)));
    for (; j < rowBytes; j += 4) store<f32>(weights + j, f32x4.extract_lane(expOrZero4(f32x4.mul(f32x4.sub(v128.load32_splat(x + j), m4), t4)), 0));

    let tau = minKey;
    if (topK) {
      let lo = minKey, hi = maxKey;
      while (lo < hi) {
        countPass(keys, padded, above(lo, hi));
        if (passCount >= topK) lo = passMin;
        else hi = passMax;
        if (passCount == topK) hi = lo; // exactly k keys ≥ mid: the least of them is the k-th largest
      }
      tau = lo;
    }
    if (topP < 1) {
      massPass(keys, weights, padded, tau, tau);
      const target = topP * passMass;
      let lo = tau, hi = maxKey;
      while (lo < hi) {
        massPass(keys, weights, padded, tau, above(lo, hi));
        if (passMass >= target) lo = passMin;
        else hi = passMax;
      }
      tau = lo;
    }

    // The first kept index whose running mass passes u · the kept mass (the last kept one if
    // rounding runs off the end).
    massPass(keys, weights, padded, tau, tau);
    const target = <f64>philoxUniform(key0, key1, stream, offset, <u32>n) * passMass;
    let run: f64 = 0;
    let pick = 0;
    for (let i = 0; i < V; i++) {
      if (load<i32>(keys + <usize>i * 4) < tau) continue;
      run += <f64>load<f32>(weights + <usize>i * 4);
      pick = i;
      if (run > target) break;
    }
    store<f32>(out + <usize>n * 4, <f32>pick);
  }
}
