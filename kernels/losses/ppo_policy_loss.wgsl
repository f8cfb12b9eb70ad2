// ppoPolicyLoss: one pass for the masked sums (n and the stats), one for the
// gradient, which needs n.
//! include lib/loss_workgroup.wgsl
struct Params { N: u32, _p0: u32, _p1: u32, _p2: u32, cliprange: f32, _q0: f32, _q1: f32, _q2: f32 }

@group(0) @binding(0) var<storage, read> logprobs: array<f32>;
@group(0) @binding(1) var<storage, read> oldLogprobs: array<f32>;
@group(0) @binding(2) var<storage, read> advantages: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<f32>;
@group(0) @binding(4) var<storage, read> entropies: array<f32>;
@group(0) @binding(5) var<storage, read_write> dLogprobs: array<f32>;
@group(0) @binding(6) var<storage, read_write> stats: array<f32>;  // PPO_POLICY_STATS
@group(0) @binding(7) var<uniform> p: Params;

// (unclipped term −Aρ, clipped term −A·clip(ρ), ρ) of token i.
fn terms(i: u32) -> vec3<f32> {
  let ratio = exp(logprobs[i] - oldLogprobs[i]);
  let a = advantages[i];
  return vec3<f32>(-a * ratio, -a * clamp(ratio, 1.0 - p.cliprange, 1.0 + p.cliprange), ratio);
}

@compute @workgroup_size(WG)
fn ppo_policy_loss(@builtin(local_invocation_index) li: u32) {
  var acc0 = vec4<f32>(0.0); // n, Σ loss, Σ clipped, Σ ½Δ²
  var acc1 = vec4<f32>(0.0); // Σ ρ, Σ entropy
  for (var i = li; i < p.N; i += WG) {
    if (!masked(mask[i])) { continue; }
    let t = terms(i);
    let d = logprobs[i] - oldLogprobs[i];
    acc0 += vec4<f32>(1.0, max(t.x, t.y), select(0.0, 1.0, t.y > t.x), 0.5 * d * d);
    acc1 += vec4<f32>(t.z, entropies[i], 0.0, 0.0);
  }
  let s0 = workgroupSum4(0u, li, acc0);
  let s1 = workgroupSum4(1u, li, acc1);
  let inv = 1.0 / max(s0.x, 1.0);
  for (var i = li; i < p.N; i += WG) {
    var g = 0.0;
    if (masked(mask[i])) {
      let t = terms(i);
      // The max takes the unclipped term (ties included: equal there, and clip passes ρ through).
      if (t.x >= t.y) { g = -advantages[i] * t.z * inv; }
    }
    dLogprobs[i] = g;
  }
  if (li == 0u) {
    stats[0] = s0.y * inv;
    stats[1] = s0.z * inv;
    stats[2] = s0.w * inv;
    stats[3] = s1.x * inv;
    stats[4] = s1.y * inv;
  }
}
