// PPO's per-token rewards (ppoRewards): one invocation per row (strided over the
// rows), walking its tokens: the KL estimate of Δ = logprobs − refLogprobs, r = −β·kl, and
// the row's score added at its last response token.
//! include lib/loss_workgroup.wgsl
struct Params { R: u32, T: u32, estimator: u32, _p: u32, klCoef: f32, _q0: f32, _q1: f32, _q2: f32 }

@group(0) @binding(0) var<storage, read> logprobs: array<f32>;
@group(0) @binding(1) var<storage, read> refLogprobs: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read> scores: array<f32>;
@group(0) @binding(4) var<storage, read_write> rewards: array<f32>;
@group(0) @binding(5) var<storage, read_write> kl: array<f32>;
@group(0) @binding(6) var<storage, read_write> stats: array<f32>;  // PPO_REWARD_STATS
@group(0) @binding(7) var<uniform> p: Params;

fn klEstimate(d: f32) -> f32 {
  if (p.estimator == 1u) { return (exp(-d) - 1.0) + d; }
  if (p.estimator == 2u) { return max(d, 0.0); }
  return d;
}

@compute @workgroup_size(WG)
fn ppo_rewards(@builtin(local_invocation_index) li: u32) {
  var acc = vec4<f32>(0.0); // Σ kl, Σ −logprobs, Σ scores
  for (var r = li; r < p.R; r += WG) {
    var last = -1;
    for (var t = 0u; t < p.T; t++) {
      let i = r * p.T + t;
      var k = 0.0;
      if (masked(mask[i])) {
        k = klEstimate(logprobs[i] - refLogprobs[i]);
        acc.x += k;
        acc.y -= logprobs[i];
        last = i32(i);
      }
      kl[i] = k;
      rewards[i] = -p.klCoef * k;
    }
    if (last >= 0) { rewards[u32(last)] += scores[r]; }
    acc.z += scores[r];
  }
  let total = workgroupSum4(0u, li, acc);
  if (li == 0u) {
    let R = f32(p.R);
    stats[0] = total.x / R;
    stats[1] = total.y / R;
    stats[2] = -p.klCoef * total.x / R;
    stats[3] = total.z / R;
  }
}
