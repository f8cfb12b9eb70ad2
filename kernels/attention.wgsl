// Attention plumbing: the head split and merge (pure permutes), and the causal softmax over
// scores [B, H, T, T] with its backward. One workgroup per row (rows beyond 65535 wrap into
// the grid's y dimension); invocations stride over the row, so loads and stores are
// contiguous, and row statistics combine through a tree in workgroup memory. The softmax
// also has one-invocation-per-row entry points (*__rows, at the end) for software adapters.
//
// Each entry point uses a subset of the bindings below; 'auto' layout leaves the rest out.
//! include lib/workgroup_reduce.wgsl
struct Params {
  B: u32, T: u32, H: u32, D: u32,
  W: u32,     // row width of the [B, T, W] side of a head split
  col: u32,   // first column of the [B, T, H·D] block inside it
  gridX: u32, // workgroups in the grid's x dimension
  t0: u32,    // heads: the first time row the [B, T, W] side maps to
  S: u32,     // heads: time rows of the heads side (T, or a KV cache's length)
}

@group(0) @binding(0) var<storage, read> src: array<f32>;           // heads: the side read
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;     // heads: the side written
@group(0) @binding(2) var<storage, read> scores: array<f32>;        // [B, H, T, T]
@group(0) @binding(3) var<storage, read> keyMask: array<f32>;       // [B, T], 1 real token, 0 padding
@group(0) @binding(4) var<storage, read_write> probs: array<f32>;   // [B, H, T, T]
@group(0) @binding(5) var<storage, read> dprobs: array<f32>;        // [B, H, T, T]
@group(0) @binding(6) var<storage, read> probsIn: array<f32>;       // [B, H, T, T]
@group(0) @binding(7) var<storage, read_write> dscores: array<f32>; // [B, H, T, T]
@group(0) @binding(8) var<uniform> p: Params;

const WG = 64u;
const REDUCE_WG = WG;
const REDUCE_SLOTS = 2u;
// The most negative finite f32: the max of a row that sees no key (such a row is all zeros).
const LOWEST = -3.4028234663852886e38;

fn rowOf(wg: vec3<u32>) -> u32 {
  return wg.x + wg.y * p.gridX;
}

// Heads [B, H, S, D] index of element i of the H·D block of row (b, t).
fn headIndex(b: u32, t: u32, i: u32) -> u32 {
  let h = i / p.D;
  let d = i - h * p.D;
  return ((b * p.H + h) * p.S + p.t0 + t) * p.D + d;
}

// dst[b, h, t, d] = src[b, t, col + h·D + d]; one workgroup per (b, t) row of src.
@compute @workgroup_size(WG)
fn gather_heads(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let r = rowOf(wg);
  if (r >= p.B * p.T) { return; }
  let b = r / p.T;
  let t = r - b * p.T;
  let base = r * p.W + p.col;
  for (var i = li; i < p.H * p.D; i += WG) { dst[headIndex(b, t, i)] = src[base + i]; }
}

// dst[b, t, col + h·D + d] = src[b, h, t, d]; dst's other columns are left alone.
@compute @workgroup_size(WG)
fn scatter_heads(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let r = rowOf(wg);
  if (r >= p.B * p.T) { return; }
  let b = r / p.T;
  let t = r - b * p.T;
  let base = r * p.W + p.col;
  for (var i = li; i < p.H * p.D; i += WG) { dst[base + i] = src[headIndex(b, t, i)]; }
}

// Query i of batch entry b sees key j iff j ≤ i and keyMask[b, j] ≥ 0.5.
fn sees(b: u32, i: u32, j: u32) -> bool {
  return j <= i && keyMask[b * p.T + j] >= 0.5;
}

// probs[b, h, i, :] = softmax over the keys query i sees; hidden keys get exactly 0 and a
// query that sees no key a row of zeros (its sum is 0: every term is masked, no 0/0).
@compute @workgroup_size(WG)
fn causal_softmax(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let r = rowOf(wg);
  if (r >= p.B * p.H * p.T) { return; }
  let b = r / (p.H * p.T);
  let i = r % p.T;
  let base = r * p.T;
  // Keys past i are hidden, so the statistics only look at j ≤ i.
  var m = LOWEST;
  for (var j = li; j <= i; j += WG) {
    if (sees(b, i, j)) { m = max(m, scores[base + j]); }
  }
  let rowMax = workgroupMax(0u, li, m);
  var s = 0.0;
  for (var j = li; j < p.T; j += WG) {
    var e = 0.0;
    if (sees(b, i, j)) { e = exp(scores[base + j] - rowMax); }
    probs[base + j] = e;
    s += e;
  }
  let total = workgroupSum(1u, li, s);
  let scale = select(0.0, 1.0 / total, total > 0.0);
  // Each invocation rescales the very elements it wrote above: no barrier needed.
  for (var j = li; j <= i; j += WG) { probs[base + j] *= scale; }
}

// dscores = probs ⊙ (dprobs − Σ_j probs·dprobs), per row (overwrites dscores).
@compute @workgroup_size(WG)
fn causal_softmax_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let r = rowOf(wg);
  if (r >= p.B * p.H * p.T) { return; }
  let base = r * p.T;
  var s = 0.0;
  for (var j = li; j < p.T; j += WG) { s += probsIn[base + j] * dprobs[base + j]; }
  let pdp = workgroupSum(0u, li, s);
  for (var j = li; j < p.T; j += WG) { dscores[base + j] = probsIn[base + j] * (dprobs[base + j] - pdp); }
}

// The same two ops with one invocation per row and no workgroup memory: on a software
// rasteriser a barrier switches between coroutines, and with short rows (T = 128) the
// workgroup-per-row kernels above spend most of their time there. Loads are not coalesced
// (lanes walk different rows), which costs a software rasteriser nothing (it fetches lane by
// lane) but would a hardware GPU; the host picks these for software adapters.
@compute @workgroup_size(WG)
fn causal_softmax__rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x + gid.y * p.gridX * WG;
  if (r >= p.B * p.H * p.T) { return; }
  let b = r / (p.H * p.T);
  let i = r % p.T;
  let base = r * p.T;
  var m = LOWEST;
  for (var j = 0u; j <= i; j++) {
    if (sees(b, i, j)) { m = max(m, scores[base + j]); }
  }
  var s = 0.0;
  for (var j = 0u; j <= i; j++) {
    var e = 0.0;
    if (sees(b, i, j)) { e = exp(scores[base + j] - m); }
    probs[base + j] = e;
    s += e;
  }
  let scale = select(0.0, 1.0 / s, s > 0.0);
  for (var j = 0u; j <= i; j++) { probs[base + j] *= scale; }
  for (var j = i + 1u; j < p.T; j++) { probs[base + j] = 0.0; }
}

@compute @workgroup_size(WG)
fn causal_softmax_backward__rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x + gid.y * p.gridX * WG;
  if (r >= p.B * p.H * p.T) { return; }
  let base = r * p.T;
  var s = 0.0;
  for (var j = 0u; j < p.T; j++) { s += probsIn[base + j] * dprobs[base + j]; }
  for (var j = 0u; j < p.T; j++) { dscores[base + j] = probsIn[base + j] * (dprobs[base + j] - s); }
}
