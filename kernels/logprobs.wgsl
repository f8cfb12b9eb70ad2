// tokenLogprobs over logits [N, V], one workgroup per row (rows beyond 65535 wrap into the
// grid's y dimension). With d_i = scale·(x_i − max x) ≤ 0, S = Σ e^d and D = Σ e^d·d:
//   logprobs[n] = d_t − log S            (log softmax at the target; NaN for a bad target)
//   entropies[n] = log S − D / S         (−Σ p log p, p = e^d / S)
// Two strided passes (max, then S and D), each combined by a tree in workgroup memory.
// Subtracting before scaling keeps d exact for the max token and its error relative to |d|.
// A dispatch takes rows rowStart .. rowStart + N; logits may be bound as a window of those
// rows starting at element `base` (the host splits logits larger than one binding).
//! include lib/workgroup_reduce.wgsl
struct Params {
  N: u32, V: u32, gridX: u32, scale: f32,
  nan: u32, // a quiet NaN's bits, from the host: a NaN constant is a WGSL error
  rowStart: u32, base: u32, _p: u32,
}

@group(0) @binding(0) var<storage, read> logits: array<f32>;         // [N, V]
@group(0) @binding(1) var<storage, read> targets: array<f32>;        // [N], ids as f32
@group(0) @binding(2) var<storage, read_write> logprobs: array<f32>; // [N]
@group(0) @binding(3) var<storage, read_write> entropies: array<f32>; // [N]
@group(0) @binding(4) var<uniform> p: Params;

// Invocations per row: a power of two ≤ REDUCE_WG, chosen by the host from V.
override WG: u32 = 256u;
const REDUCE_WG = 256u;
const REDUCE_SLOTS = 2u;

@compute @workgroup_size(WG)
fn token_logprobs(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let block = wg.x + wg.y * p.gridX;
  if (block >= p.N) { return; }
  let n = p.rowStart + block;
  let base = n * p.V - p.base;
  // Starting from a real element needs no -inf identity.
  var m = logits[base + min(li, p.V - 1u)];
  for (var i = li; i < p.V; i += WG) { m = max(m, logits[base + i]); }
  let lmax = workgroupMax(0u, li, m);
  var acc = vec2<f32>(0.0);
  for (var i = li; i < p.V; i += WG) {
    // Clamped where e^d is 0 in f32 anyway: e·d stays 0 even if d overflowed to -inf.
    let d = max((logits[base + i] - lmax) * p.scale, -126.0);
    let e = exp(d);
    acc += vec2<f32>(e, e * d);
  }
  let sums = workgroupSum2(1u, li, acc);
  if (li == 0u) {
    let logS = log(sums.x);
    entropies[n] = logS - sums.y / sums.x;
    let t = targets[n];
    var lp = bitcast<f32>(p.nan);
    if (t >= 0.0 && t < f32(p.V) && t == floor(t)) { lp = (logits[base + u32(t)] - lmax) * p.scale - logS; }
    logprobs[n] = lp;
  }
}
