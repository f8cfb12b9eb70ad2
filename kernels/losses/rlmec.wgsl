// rlmecLoss: one pass for the counts and the loss terms, one for the gradient.
// ρ = exp(logprobs − refLogprobs) is a constant of the gradient (no gradient through it).
//! include lib/loss_workgroup.wgsl
struct Params { N: u32, _p0: u32, _p1: u32, _p2: u32, cliprange: f32, imitationWeight: f32, _q0: f32, _q1: f32 }

@group(0) @binding(0) var<storage, read> logprobs: array<f32>;
@group(0) @binding(1) var<storage, read> refLogprobs: array<f32>;
@group(0) @binding(2) var<storage, read> rewards: array<f32>;
@group(0) @binding(3) var<storage, read> imitation: array<f32>;
@group(0) @binding(4) var<storage, read_write> dLogprobs: array<f32>;
@group(0) @binding(5) var<storage, read_write> stats: array<f32>;  // RLMEC_STATS
@group(0) @binding(6) var<uniform> p: Params;

// (w = min(ρr, clip(ρ)r), ρ, clipped: 1 when the clipped term is strictly smaller) of token i.
fn weight(i: u32) -> vec3<f32> {
  let ratio = exp(logprobs[i] - refLogprobs[i]);
  let r = rewards[i];
  let unclipped = ratio * r;
  let clipped = clamp(ratio, 1.0 - p.cliprange, 1.0 + p.cliprange) * r;
  return vec3<f32>(min(unclipped, clipped), ratio, select(0.0, 1.0, clipped < unclipped));
}

@compute @workgroup_size(WG)
fn rlmec(@builtin(local_invocation_index) li: u32) {
  var acc0 = vec4<f32>(0.0); // N (r ≠ 0), Σ −w·logp, Σ ρ, Σ clipped
  var acc1 = vec4<f32>(0.0); // N_c (c ≠ 0), Σ c·(−logp)
  for (var i = li; i < p.N; i += WG) {
    if (rewards[i] != 0.0) {
      let w = weight(i);
      acc0 += vec4<f32>(1.0, -w.x * logprobs[i], w.y, w.z);
    }
    let c = imitation[i];
    if (c != 0.0) { acc1 += vec4<f32>(1.0, -c * logprobs[i], 0.0, 0.0); }
  }
  let s0 = workgroupSum4(0u, li, acc0);
  let s1 = workgroupSum4(1u, li, acc1);
  let invN = 1.0 / max(s0.x, 1.0);
  let invNc = 1.0 / max(s1.x, 1.0);
  for (var i = li; i < p.N; i += WG) {
    var g = 0.0;
    if (rewards[i] != 0.0) { g -= weight(i).x * invN; }
    let c = imitation[i];
    if (c != 0.0) { g -= p.imitationWeight * c * invNc; }
    dLogprobs[i] = g;
  }
  if (li == 0u) {
    let rl = s0.y * invN;
    let reg = s1.y * invNc;
    stats[0] = rl + p.imitationWeight * reg;
    stats[1] = rl;
    stats[2] = reg;
    stats[3] = s0.z * invN;
    stats[4] = s0.w * invN;
  }
}
