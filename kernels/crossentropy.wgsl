// Fused softmax + cross-entropy over logits [N, V] (V up to GPT-2's 50257), one workgroup
// per row (rows beyond 65535 wrap into the grid's y dimension), with z = scale·logits:
//   lse = s·max + log Σ exp(s·(logits − max))     (max-subtracted: no overflow)
//   losses[n] = w[n] · (lse − z[n, t[n]])
//   dlogits[n, :] = w[n] · s · (softmax(z) − onehot(t[n]))   when HAS_DLOGITS
// Three strided passes over the row (max, sum, gradient), each combined by a tree in
// workgroup memory. A row whose weight is 0 gives loss 0 and a zero gradient without reading
// its target (which may be −1 for padding).
//
// A dispatch takes rows rowStart .. rowStart + N; logits and dlogits may be bound as windows
// of those rows starting at element `base` (the host splits logits larger than one binding).
//! include lib/workgroup_reduce.wgsl
struct Params { N: u32, V: u32, gridX: u32, scale: f32, rowStart: u32, base: u32 }

@group(0) @binding(0) var<storage, read> logits: array<f32>;        // [N, V] (a window)
@group(0) @binding(1) var<storage, read> targets: array<f32>;       // [N], integers as f32
@group(0) @binding(2) var<storage, read> weights: array<f32>;       // [N]
@group(0) @binding(3) var<storage, read_write> losses: array<f32>;  // [N]
@group(0) @binding(4) var<storage, read_write> dlogits: array<f32>; // [N, V]; a placeholder without HAS_DLOGITS
@group(0) @binding(5) var<uniform> p: Params;

override HAS_DLOGITS: bool = true;
const WG = 256u;
const REDUCE_WG = WG;
const REDUCE_SLOTS = 2u;

@compute @workgroup_size(WG)
fn softmax_crossentropy(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let block = wg.x + wg.y * p.gridX;
  if (block >= p.N) { return; }
  let n = p.rowStart + block;
  let base = n * p.V - p.base;
  // The whole workgroup stores the weight and loads it back through workgroupUniformLoad, so
  // the branch on it is uniform and the barriers after it stay legal.
  if (li == 0u) { rowWeight = weights[n]; }
  let w = workgroupUniformLoad(&rowWeight);
  if (w == 0.0) {
    if (HAS_DLOGITS) {
      for (var c = li; c < p.V; c += WG) { dlogits[base + c] = 0.0; }
    }
    if (li == 0u) { losses[n] = 0.0; }
    return;
  }
  // Max over the row; starting from a real element needs no -inf identity.
  var m = logits[base + min(li, p.V - 1u)];
  for (var c = li; c < p.V; c += WG) { m = max(m, logits[base + c]); }
  let rowMax = workgroupMax(0u, li, m);
  var s = 0.0;
  for (var c = li; c < p.V; c += WG) { s += exp((logits[base + c] - rowMax) * p.scale); }
  let sum = workgroupSum(1u, li, s);
  let t = min(u32(targets[n]), p.V - 1u);
  // (max − logit) first: both are large for large logits, their difference is exact-ish.
  if (li == 0u) { losses[n] = w * ((rowMax - logits[base + t]) * p.scale + log(sum)); }
  if (HAS_DLOGITS) {
    let inv = 1.0 / sum;
    let ws = w * p.scale;
    for (var c = li; c < p.V; c += WG) {
      let onehot = select(0.0, 1.0, c == t);
      dlogits[base + c] = ws * (exp((logits[base + c] - rowMax) * p.scale) * inv - onehot);
    }
  }
}

var<workgroup> rowWeight: f32;
