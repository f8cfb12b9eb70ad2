// bradleyTerryLoss: one invocation per pair (strided), scores[p] chosen and
// scores[P + p] rejected.
//! include lib/loss_workgroup.wgsl
struct Params { P: u32, _p0: u32, _p1: u32, _p2: u32, center: f32, _q0: f32, _q1: f32, _q2: f32 }

@group(0) @binding(0) var<storage, read> scores: array<f32>;
@group(0) @binding(1) var<storage, read_write> dScores: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;  // BRADLEY_TERRY_STATS
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn bradley_terry(@builtin(local_invocation_index) li: u32) {
  let inv = 1.0 / f32(p.P);
  var acc0 = vec4<f32>(0.0); // Σ −log σ(d), Σ [d > 0], Σ d, Σ (r_w + r_l)²
  var acc1 = vec4<f32>(0.0); // Σ (r_w + r_l)
  for (var i = li; i < p.P; i += WG) {
    let w = scores[i];
    let l = scores[p.P + i];
    let d = w - l;
    let sum = w + l;
    acc0 += vec4<f32>(-logSigmoid(d), select(0.0, 1.0, d > 0.0), d, sum * sum);
    acc1.x += sum;
    // ∂/∂r_w −log σ(d) = −σ(−d); the centring term adds 2c(r_w + r_l) to both.
    let g = sigmoid(-d);
    let c = 2.0 * p.center * sum;
    dScores[i] = (c - g) * inv;
    dScores[p.P + i] = (c + g) * inv;
  }
  let s0 = workgroupSum4(0u, li, acc0);
  let s1 = workgroupSum4(1u, li, acc1);
  if (li == 0u) {
    stats[0] = (s0.x + p.center * s0.w) * inv;
    stats[1] = s0.y * inv;
    stats[2] = s0.z * inv;
    stats[3] = s1.x * inv * 0.5;
  }
}
