// RMSNorm over the last axis of x [N, C] (Llama's: weight only, no mean subtraction), and its
// backward. The same row strategies as layernorm.wgsl: a workgroup per row (rows beyond 65535
// wrap into the grid's y dimension), or, in the `__rows` forms, one invocation per row with no
// workgroup memory (software adapters). dweight sums over rows, so it is a column kernel over
// one chunk of rows per dispatch (Mesa's gallivm ends an invocation's loops after 65535
// iterations).
//
// Each entry point uses a subset of the bindings below; 'auto' layout leaves the rest out.
//! include lib/workgroup_reduce.wgsl
struct Params {
  N: u32, C: u32, gridX: u32, eps: f32,
  rowStart: u32, rowCount: u32, _p0: u32, _p1: u32, // rms_norm_backward__weight: this dispatch's rows
}

@group(0) @binding(0) var<storage, read> x: array<f32>;              // [N, C]
@group(0) @binding(1) var<storage, read> weight: array<f32>;         // [C]
@group(0) @binding(2) var<storage, read_write> out: array<f32>;      // forward: [N, C]
@group(0) @binding(3) var<storage, read_write> rstd_out: array<f32>; // forward: [N]
@group(0) @binding(4) var<storage, read> dout: array<f32>;           // backward: [N, C]
@group(0) @binding(5) var<storage, read> rstd: array<f32>;           // backward: [N]
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;       // backward: [N, C], added into
@group(0) @binding(7) var<storage, read_write> dweight: array<f32>;  // backward: [C], added into
@group(0) @binding(8) var<uniform> p: Params;

const WG = 64u;
const REDUCE_WG = WG;
const REDUCE_SLOTS = 1u;

// out = x · rstd · weight, rstd = 1/√(mean(x²) + eps)
@compute @workgroup_size(WG)
fn rms_norm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let n = wg.x + wg.y * p.gridX;
  // n is the same for the whole workgroup, so returning keeps the barriers uniform.
  if (n >= p.N) { return; }
  let base = n * p.C;
  var q = 0.0;
  for (var c = li; c < p.C; c += WG) {
    let v = x[base + c];
    q += v * v;
  }
  let r = 1.0 / sqrt(workgroupSum(0u, li, q) / f32(p.C) + p.eps);
  for (var c = li; c < p.C; c += WG) { out[base + c] = x[base + c] * r * weight[c]; }
  if (li == 0u) { rstd_out[n] = r; }
}

// dx += rstd · (g − x̂ · mean(g · x̂)) with g = weight · dout, x̂ = x · rstd.
@compute @workgroup_size(WG)
fn rms_norm_backward__dx(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let n = wg.x + wg.y * p.gridX;
  if (n >= p.N) { return; }
  let base = n * p.C;
  let r = rstd[n];
  var s = 0.0;
  for (var c = li; c < p.C; c += WG) { s += weight[c] * dout[base + c] * x[base + c]; }
  let m = workgroupSum(0u, li, s) * r / f32(p.C);
  for (var c = li; c < p.C; c += WG) {
    let xhat = x[base + c] * r;
    dx[base + c] += r * (weight[c] * dout[base + c] - xhat * m);
  }
}

const CWG = 64u;

// dweight[c] += Σ_n dout[n, c] · x[n, c] · rstd[n] over this dispatch's rows
@compute @workgroup_size(CWG)
fn rms_norm_backward__weight(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x + gid.y * p.gridX * CWG;
  if (c >= p.C) { return; }
  var dw = 0.0;
  for (var n = p.rowStart; n < p.rowStart + p.rowCount; n++) {
    dw += dout[n * p.C + c] * x[n * p.C + c] * rstd[n];
  }
  dweight[c] += dw;
}

// rms_norm and rms_norm_backward__dx with one invocation per row (see layernorm.wgsl's
// layernorm__rows for why software rasterisers want these).
@compute @workgroup_size(WG)
fn rms_norm__rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = gid.x + gid.y * p.gridX * WG;
  if (n >= p.N) { return; }
  let base = n * p.C;
  var q = 0.0;
  for (var c = 0u; c < p.C; c++) {
    let v = x[base + c];
    q += v * v;
  }
  let r = 1.0 / sqrt(q / f32(p.C) + p.eps);
  for (var c = 0u; c < p.C; c++) { out[base + c] = x[base + c] * r * weight[c]; }
  rstd_out[n] = r;
}

@compute @workgroup_size(WG)
fn rms_norm_backward__dx_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = gid.x + gid.y * p.gridX * WG;
  if (n >= p.N) { return; }
  let base = n * p.C;
  let r = rstd[n];
  var s = 0.0;
  for (var c = 0u; c < p.C; c++) { s += weight[c] * dout[base + c] * x[base + c]; }
  let m = s * r / f32(p.C);
  for (var c = 0u; c < p.C; c++) {
    let xhat = x[base + c] * r;
    dx[base + c] += r * (weight[c] * dout[base + c] - xhat * m);
  }
}
