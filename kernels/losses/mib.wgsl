// mibLoss: L_M = −I_JSD + β·D_SKL over B rows of K latent dimensions, as four
// single-workgroup dispatches, each within the 8 storage buffers WebGPU guarantees a stage:
//   mib_loss__density ×2 — one per Gaussian j: ∂/∂μ_j, ∂/∂σ_j and its share of D_SKL;
//   mib_loss__latent     — ∂/∂z1, ∂/∂z2;
//   mib_loss__critic     — ∂/∂tPos, ∂/∂tNeg, I_JSD and L_M (last: it reads D_SKL from stats).
// In Σ_k of log p1(z1) − log p2(z1) + log p2(z2) − log p1(z2) the log σ terms cancel, leaving
// ½(u12² + u21² − u11² − u22²) with u_ij = (z_i − μ_j)/σ_j; density j owns ½(u_oj² − u_jj²)
// (o the other view), which depends on μ_j and σ_j only.
//! include lib/loss_workgroup.wgsl
struct Params { B: u32, K: u32, second: u32, _p0: u32, beta: f32, weight: f32, _q0: f32, _q1: f32 }

// mib_loss__density: zA = own view's z, zB = the other's, muA/sigmaA = the density, gradA = dμ, gradB = dσ.
// mib_loss__latent: zA/zB = z1/z2, muA/sigmaA = μ1/σ1, muB/sigmaB = μ2/σ2, gradA/gradB = dz1/dz2.
@group(0) @binding(0) var<storage, read> zA: array<f32>;
@group(0) @binding(1) var<storage, read> zB: array<f32>;
@group(0) @binding(2) var<storage, read> muA: array<f32>;
@group(0) @binding(3) var<storage, read> sigmaA: array<f32>;
@group(0) @binding(4) var<storage, read> muB: array<f32>;
@group(0) @binding(5) var<storage, read> sigmaB: array<f32>;
@group(0) @binding(6) var<storage, read_write> gradA: array<f32>;
@group(0) @binding(7) var<storage, read_write> gradB: array<f32>;
@group(0) @binding(8) var<storage, read> tPos: array<f32>;
@group(0) @binding(9) var<storage, read> tNeg: array<f32>;
@group(0) @binding(10) var<storage, read_write> dTPos: array<f32>;
@group(0) @binding(11) var<storage, read_write> dTNeg: array<f32>;
@group(0) @binding(12) var<storage, read_write> stats: array<f32>;  // MIB_STATS
@group(0) @binding(13) var<uniform> p: Params;

// weight·β·∂D_SKL/∂(½u²-terms): D_SKL averages over B rows and carries a ½.
fn sklScale() -> f32 {
  return p.weight * p.beta / (2.0 * f32(p.B));
}

@compute @workgroup_size(WG)
fn mib_loss__density(@builtin(local_invocation_index) li: u32) {
  let n = p.B * p.K;
  let g = sklScale();
  var acc = vec4<f32>(0.0); // Σ ½(u_other² − u_own²)
  for (var i = li; i < n; i += WG) {
    let s = sigmaA[i];
    let own = (zA[i] - muA[i]) / s;
    let other = (zB[i] - muA[i]) / s;
    acc.x += 0.5 * (other - own) * (other + own);
    gradA[i] = g * (own - other) / s;
    gradB[i] = g * (own - other) * (own + other) / s;
  }
  let total = workgroupSum4(0u, li, acc);
  if (li == 0u) {
    let part = total.x / (2.0 * f32(p.B));
    stats[2] = select(part, stats[2] + part, p.second != 0u);
  }
}

@compute @workgroup_size(WG)
fn mib_loss__latent(@builtin(local_invocation_index) li: u32) {
  let n = p.B * p.K;
  let g = sklScale();
  for (var i = li; i < n; i += WG) {
    let s1 = sigmaA[i];
    let s2 = sigmaB[i];
    let u11 = (zA[i] - muA[i]) / s1;
    let u12 = (zA[i] - muB[i]) / s2;
    let u21 = (zB[i] - muA[i]) / s1;
    let u22 = (zB[i] - muB[i]) / s2;
    gradA[i] = g * (u12 / s2 - u11 / s1);
    gradB[i] = g * (u21 / s1 - u22 / s2);
  }
}

@compute @workgroup_size(WG)
fn mib_loss__critic(@builtin(local_invocation_index) li: u32) {
  let invB = 1.0 / f32(p.B);
  var acc = vec4<f32>(0.0); // Σ −softplus(−tPos) = Σ log σ(tPos), Σ softplus(tNeg)
  for (var i = li; i < p.B; i += WG) {
    let tp = tPos[i];
    let tn = tNeg[i];
    acc += vec4<f32>(logSigmoid(tp), softplus(tn), 0.0, 0.0);
    dTPos[i] = -p.weight * sigmoid(-tp) * invB;
    dTNeg[i] = p.weight * sigmoid(tn) * invB;
  }
  let s = workgroupSum4(0u, li, acc);
  if (li == 0u) {
    let jsd = (s.x - s.y) * invB;
    stats[1] = jsd;
    stats[0] = p.beta * stats[2] - jsd;
  }
}
