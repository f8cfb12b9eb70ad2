// sampleTokens over logits [N, V]: one token id per row (as f32), one workgroup per row (rows
// beyond 65535 wrap into the grid's y dimension). The semantics are sampleTokens's (src/ops/sampling.ts); here:
//  1. min and max of the row's keys (orderKey: an order-preserving u32 of each logit).
//     Greedy: the lowest index holding the max key, done.
//  2. topK: τ = the k-th largest key, by bisection over key space. Each pass counts the keys
//     ≥ mid and also finds the nearest keys on either side of mid, so the bounds snap to real
//     keys: ≤ 32 passes, about log2 of the keys between the bounds in practice.
//  3. topP: the same bisection over the mass Σ w of the keys ≥ mid (kept ones only).
//     Thresholds live in logit space: w grows with the logit, so {w ≥ τ_w} = {logit ≥ τ},
//     and searching the logits' own bits needs no rounding of w to be exact.
//  4. the row cut into WG contiguous chunks, their kept masses scanned across the workgroup;
//     the first chunk whose running mass passes u · total walks its own elements.
// Every pass is a strided loop (coalesced) of at most ⌈V / WG⌉ iterations and a tree: with
// ≤ 68 passes no invocation nears the 65535 loop iterations after which Mesa's gallivm
// (llvmpipe, lavapipe) cuts an invocation's loops short, for V up to ~200,000 (WG = 256).
// Its reduction stays here rather than in lib/workgroup_reduce.wgsl: it combines order keys
// and counts as u32 bits (min, max, sum), which the f32 reductions there cannot carry.
//! include lib/philox.wgsl
struct Params {
  N: u32, V: u32, gridX: u32,
  topK: u32,    // 0: off
  key0: u32, key1: u32, stream: u32, offset: u32,
  invT: f32,    // 1 / temperature
  topP: f32,    // 1: off
  greedy: u32,  // temperature 0
  // Rows rowStart .. rowStart + N, their logits bound from element base (a window when the
  // host splits logits larger than one binding).
  rowStart: u32, base: u32,
}

@group(0) @binding(0) var<storage, read> logits: array<f32>;     // [N, V]
@group(0) @binding(1) var<storage, read_write> out: array<f32>;   // [N]: token ids
@group(0) @binding(2) var<uniform> p: Params;

// Invocations per row: a power of two ≤ MAX_WG, chosen by the host from V (a software
// rasteriser pays per invocation at every barrier, so narrow rows get small workgroups).
override WG: u32 = 256u;
const MAX_WG = 256u;
const NONE = 0xFFFFFFFFu;

// A row statistic: x a count (u32) or a mass (f32 bits), y a minimum, z a maximum.
var<workgroup> stats: array<vec3<u32>, MAX_WG>;
// The combined statistic, copied out of the tree so the next reduction may reuse `stats`
// while no invocation still reads its total (Mesa's GL path was seen to move such reads past
// the next barrier, see crossentropy.wgsl).
var<workgroup> combined: vec3<u32>;
var<workgroup> prefix: array<f32, MAX_WG>;

fn combine(a: vec3<u32>, b: vec3<u32>, mass: bool) -> vec3<u32> {
  var x = a.x + b.x;
  if (mass) { x = bitcast<u32>(bitcast<f32>(a.x) + bitcast<f32>(b.x)); }
  return vec3<u32>(x, min(a.y, b.y), max(a.z, b.z));
}

// The workgroup's combined statistic, the same (uniform) value in every invocation. Call
// from uniform control flow.
fn rowStats(li: u32, v: vec3<u32>, mass: bool) -> vec3<u32> {
  stats[li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { stats[li] = combine(stats[li], stats[li + s], mass); }
    workgroupBarrier();
  }
  if (li == 0u) { combined = stats[0]; }
  return workgroupUniformLoad(&combined);
}

// An order-preserving u32 of a finite f32 (−0 counts as +0): positive floats get their sign
// bit set, negative ones all bits flipped.
fn orderKey(x: f32) -> u32 {
  var b = bitcast<u32>(x);
  if (b == 0x80000000u) { b = 0u; }
  if ((b >> 31u) != 0u) { return ~b; }
  return b | 0x80000000u;
}

fn keyValue(k: u32) -> f32 {
  if ((k >> 31u) != 0u) { return bitcast<f32>(k & 0x7FFFFFFFu); }
  return bitcast<f32>(~k);
}

// The unnormalised probability of a logit: exp((x − max) / temperature). The exponent is
// clamped where exp is 0 in f32 anyway, so an exponent overflowing to -inf (a tiny
// temperature) never reaches exp, whose result for infinities WGSL leaves undefined.
fn weight(x: f32, lmax: f32) -> f32 {
  return exp(max((x - lmax) * p.invT, -126.0));
}

// A key strictly above lo and at most hi (lo < hi), halfway: no overflow for any u32 pair.
fn above(lo: u32, hi: u32) -> u32 {
  return lo + (hi - lo) / 2u + 1u;
}

// The k-th largest key of the row. lo always holds a real key with ≥ k keys at or above it,
// hi a real key at or above the answer.
fn kthLargestKey(li: u32, base: u32, minKey: u32, maxKey: u32) -> u32 {
  var lo = minKey;
  var hi = maxKey;
  loop {
    if (lo >= hi) { break; }
    let mid = above(lo, hi);
    // x: keys ≥ mid, y: the least of them, z: the greatest key below mid.
    var v = vec3<u32>(0u, NONE, 0u);
    for (var i = li; i < p.V; i += WG) {
      let k = orderKey(logits[base + i]);
      if (k >= mid) {
        v.x += 1u;
        v.y = min(v.y, k);
      } else {
        v.z = max(v.z, k);
      }
    }
    let s = rowStats(li, v, false);
    if (s.x >= p.topK) { lo = s.y; } else { hi = s.z; }
    // Exactly k keys ≥ mid: the least of them is the k-th largest.
    if (s.x == p.topK) { hi = lo; }
  }
  return lo;
}

// Over the kept keys (≥ keepFrom): x the mass of the keys ≥ mid, y the least of them, z the
// greatest kept key below mid.
fn massStats(li: u32, base: u32, lmax: f32, keepFrom: u32, mid: u32) -> vec3<u32> {
  var mass = 0.0;
  var v = vec3<u32>(0u, NONE, 0u);
  for (var i = li; i < p.V; i += WG) {
    let x = logits[base + i];
    let k = orderKey(x);
    if (k >= mid) {
      mass += weight(x, lmax);
      v.y = min(v.y, k);
    } else if (k >= keepFrom) {
      v.z = max(v.z, k);
    }
  }
  v.x = bitcast<u32>(mass);
  return rowStats(li, v, true);
}

// The largest key whose kept keys at or above it hold mass ≥ goal. lo always holds a real
// kept key meeting the goal, hi a real key at or above the answer.
fn nucleusKey(li: u32, base: u32, lmax: f32, keepFrom: u32, maxKey: u32, goal: f32) -> u32 {
  var lo = keepFrom;
  var hi = maxKey;
  loop {
    if (lo >= hi) { break; }
    let s = massStats(li, base, lmax, keepFrom, above(lo, hi));
    if (bitcast<f32>(s.x) >= goal) { lo = s.y; } else { hi = s.z; }
  }
  return lo;
}

@compute @workgroup_size(WG)
fn sample_tokens(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let block = wg.x + wg.y * p.gridX;
  if (block >= p.N) { return; }
  let n = p.rowStart + block;
  let base = n * p.V - p.base;
  var v = vec3<u32>(0u, NONE, 0u);
  for (var i = li; i < p.V; i += WG) {
    let k = orderKey(logits[base + i]);
    v.y = min(v.y, k);
    v.z = max(v.z, k);
  }
  let bounds = rowStats(li, v, false);
  if (p.greedy != 0u) {
    // Each invocation's first hit is its lowest index; the tree takes the lowest of those.
    var first = NONE;
    for (var i = li; i < p.V; i += WG) {
      if (orderKey(logits[base + i]) == bounds.z) {
        first = i;
        break;
      }
    }
    let s = rowStats(li, vec3<u32>(0u, first, 0u), false);
    if (li == 0u) { out[n] = f32(s.y); }
    return;
  }
  let lmax = keyValue(bounds.z);
  var tau = bounds.y;
  if (p.topK != 0u) { tau = kthLargestKey(li, base, bounds.y, bounds.z); }
  if (p.topP < 1.0) {
    let z = bitcast<f32>(massStats(li, base, lmax, tau, tau).x);
    tau = nucleusKey(li, base, lmax, tau, bounds.z, p.topP * z);
  }

  // Kept mass of this invocation's contiguous chunk, then an inclusive scan over chunks.
  let chunk = (p.V + WG - 1u) / WG;
  let start = min(li * chunk, p.V);
  let end = min(start + chunk, p.V);
  var mass = 0.0;
  for (var i = start; i < end; i++) {
    let x = logits[base + i];
    if (orderKey(x) >= tau) { mass += weight(x, lmax); }
  }
  prefix[li] = mass;
  workgroupBarrier();
  for (var d = 1u; d < WG; d <<= 1u) {
    var t = 0.0;
    if (li >= d) { t = prefix[li - d]; }
    workgroupBarrier();
    prefix[li] += t;
    workgroupBarrier();
  }
  let inclusive = prefix[li];
  var before = 0.0;
  if (li > 0u) { before = prefix[li - 1u]; }
  let goal = philoxUniform(vec2<u32>(p.key0, p.key1), p.stream, p.offset, n) * prefix[WG - 1u];
  // y: the first chunk whose running mass passes the goal; z: the last chunk with mass, for
  // when rounding leaves the goal at the very end. The max token's chunk has mass 1 or more.
  let pick = rowStats(li, vec3<u32>(0u, select(NONE, li, inclusive > goal), select(0u, li, mass > 0.0)), false);
  let chosen = select(pick.z, pick.y, pick.y != NONE);
  if (li == chosen) {
    var run = before;
    var last = start;
    var found = NONE;
    for (var i = start; i < end; i++) {
      let x = logits[base + i];
      if (orderKey(x) >= tau) {
        run += weight(x, lmax);
        last = i;
        if (run > goal) {
          found = i;
          break;
        }
      }
    }
    out[n] = f32(select(last, found, found != NONE));
  }
}
