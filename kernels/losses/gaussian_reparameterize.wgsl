// gaussianReparameterize and its backward: one invocation per element, the flat
// index folding the grid's y dimension in (p.row = invocations per grid row).
// σ = softplus(raw) + SIGMA_FLOOR, z = μ + σ·ε; backward dμ = dz, draw = (dσ + dz·ε)·sigmoid(raw).
//! include lib/math.wgsl
struct Params { n: u32, row: u32, accumulate: u32, _p0: u32 }

@group(0) @binding(0) var<storage, read> mu: array<f32>;
@group(0) @binding(1) var<storage, read> rawSigma: array<f32>;
@group(0) @binding(2) var<storage, read> eps: array<f32>;
@group(0) @binding(3) var<storage, read_write> z: array<f32>;
@group(0) @binding(4) var<storage, read_write> sigma: array<f32>;
@group(0) @binding(5) var<storage, read> dZ: array<f32>;
@group(0) @binding(6) var<storage, read> dSigma: array<f32>;
@group(0) @binding(7) var<storage, read_write> dMu: array<f32>;
@group(0) @binding(8) var<storage, read_write> dRawSigma: array<f32>;
@group(0) @binding(9) var<uniform> p: Params;

const REPARAM_WG = 64u;
const SIGMA_FLOOR = 1e-7; // MIB_SIGMA_FLOOR

@compute @workgroup_size(REPARAM_WG)
fn gaussian_reparameterize(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.n) { return; }
  let s = softplus(rawSigma[i]) + SIGMA_FLOOR;
  sigma[i] = s;
  z[i] = mu[i] + s * eps[i];
}

@compute @workgroup_size(REPARAM_WG)
fn gaussian_reparameterize_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.n) { return; }
  let g = dZ[i];
  // softplus′ = sigmoid.
  var dRaw = (dSigma[i] + g * eps[i]) * sigmoid(rawSigma[i]);
  var dm = g;
  if (p.accumulate != 0u) {
    dm += dMu[i];
    dRaw += dRawSigma[i];
  }
  dMu[i] = dm;
  dRawSigma[i] = dRaw;
}
