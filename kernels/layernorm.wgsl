// LayerNorm over the last axis of x [N, C], and its backward.
//
// Forward and the dx backward run one workgroup per row (rows beyond 65535 wrap into the
// grid's y dimension): invocations stride over the row, then a tree in workgroup memory
// combines their partial sums; layernorm__rows and layernorm_backward__dx_rows (at the end) do the same
// with one invocation per row, for software adapters. The variance takes a second pass over
// the row, Σ(x − mean)², rather than E[x²] − mean², which cancels badly when |mean| ≫ std.
//
// dweight and dbias sum over rows, so they get their own entry point, parallel over columns:
// each invocation walks the rows of its column in order (deterministic, no atomics), one
// chunk of rows per dispatch.
//
// Each entry point uses a subset of the bindings below; 'auto' layout leaves the rest out.
//! include lib/workgroup_reduce.wgsl
struct Params {
  N: u32, C: u32, gridX: u32, eps: f32,
  // layernorm_backward__params: the rows of this dispatch. The host splits the rows into chunks, as
  // Mesa's gallivm (llvmpipe, lavapipe) ends an invocation's loops after 65535 iterations.
  rowStart: u32, rowCount: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;              // [N, C]
@group(0) @binding(1) var<storage, read> weight: array<f32>;         // [C]
@group(0) @binding(2) var<storage, read> bias: array<f32>;           // [C]
@group(0) @binding(3) var<storage, read_write> out: array<f32>;      // forward: [N, C]
@group(0) @binding(4) var<storage, read_write> mean_out: array<f32>; // forward: [N]
@group(0) @binding(5) var<storage, read_write> rstd_out: array<f32>; // forward: [N]
@group(0) @binding(6) var<storage, read> dout: array<f32>;           // backward: [N, C]
@group(0) @binding(7) var<storage, read> mean: array<f32>;           // backward: [N]
@group(0) @binding(8) var<storage, read> rstd: array<f32>;           // backward: [N]
@group(0) @binding(9) var<storage, read_write> dx: array<f32>;       // backward: [N, C], added into
@group(0) @binding(10) var<storage, read_write> dweight: array<f32>; // backward: [C], added into
@group(0) @binding(11) var<storage, read_write> dbias: array<f32>;   // backward: [C], added into
@group(0) @binding(12) var<uniform> p: Params;

const WG = 64u;
const REDUCE_WG = WG;
const REDUCE_SLOTS = 2u;

@compute @workgroup_size(WG)
fn layernorm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let n = wg.x + wg.y * p.gridX;
  // n is the same for the whole workgroup, so returning keeps the barriers uniform.
  if (n >= p.N) { return; }
  let base = n * p.C;
  let inv = 1.0 / f32(p.C);
  var s = 0.0;
  for (var c = li; c < p.C; c += WG) { s += x[base + c]; }
  let m = workgroupSum(0u, li, s) * inv;
  var q = 0.0;
  for (var c = li; c < p.C; c += WG) {
    let d = x[base + c] - m;
    q += d * d;
  }
  let r = 1.0 / sqrt(workgroupSum(1u, li, q) * inv + p.eps);
  for (var c = li; c < p.C; c += WG) { out[base + c] = (x[base + c] - m) * r * weight[c] + bias[c]; }
  if (li == 0u) {
    mean_out[n] = m;
    rstd_out[n] = r;
  }
}

// dx += rstd · (g − mean(g) − x̂ · mean(g · x̂)) with g = weight · dout, x̂ = (x − mean) · rstd.
@compute @workgroup_size(WG)
fn layernorm_backward__dx(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let n = wg.x + wg.y * p.gridX;
  if (n >= p.N) { return; }
  let base = n * p.C;
  let m = mean[n];
  let r = rstd[n];
  var acc = vec2(0.0);
  for (var c = li; c < p.C; c += WG) {
    let g = weight[c] * dout[base + c];
    acc += vec2(g, g * (x[base + c] - m) * r);
  }
  let means = workgroupSum2(0u, li, acc) / f32(p.C);
  for (var c = li; c < p.C; c += WG) {
    let g = weight[c] * dout[base + c];
    let xhat = (x[base + c] - m) * r;
    dx[base + c] += r * (g - means.x - xhat * means.y);
  }
}

const CWG = 64u;

// dweight[c] += Σ_n dout[n, c] · x̂[n, c];  dbias[c] += Σ_n dout[n, c]
@compute @workgroup_size(CWG)
fn layernorm_backward__params(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x + gid.y * p.gridX * CWG;
  if (c >= p.C) { return; }
  var dw = 0.0;
  var db = 0.0;
  for (var n = p.rowStart; n < p.rowStart + p.rowCount; n++) {
    let d = dout[n * p.C + c];
    dw += d * (x[n * p.C + c] - mean[n]) * rstd[n];
    db += d;
  }
  dweight[c] += dw;
  dbias[c] += db;
}

// layernorm and layernorm_backward__dx with one invocation per row and no workgroup memory: on a software
// rasteriser a barrier switches between coroutines, which is where the workgroup-per-row
// kernels above spend much of their time at GPT-2 widths. Loads are not coalesced (lanes walk
// different rows), which costs a software rasteriser nothing (it fetches lane by lane) but
// would a hardware GPU; the host picks these for software adapters.
@compute @workgroup_size(WG)
fn layernorm__rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = gid.x + gid.y * p.gridX * WG;
  if (n >= p.N) { return; }
  let base = n * p.C;
  var s = 0.0;
  for (var c = 0u; c < p.C; c++) { s += x[base + c]; }
  let m = s / f32(p.C);
  var q = 0.0;
  for (var c = 0u; c < p.C; c++) {
    let d = x[base + c] - m;
    q += d * d;
  }
  let r = 1.0 / sqrt(q / f32(p.C) + p.eps);
  for (var c = 0u; c < p.C; c++) { out[base + c] = (x[base + c] - m) * r * weight[c] + bias[c]; }
  mean_out[n] = m;
  rstd_out[n] = r;
}

@compute @workgroup_size(WG)
fn layernorm_backward__dx_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = gid.x + gid.y * p.gridX * WG;
  if (n >= p.N) { return; }
  let base = n * p.C;
  let m = mean[n];
  let r = rstd[n];
  var acc = vec2(0.0);
  for (var c = 0u; c < p.C; c++) {
    let g = weight[c] * dout[base + c];
    acc += vec2(g, g * (x[base + c] - m) * r);
  }
  let means = acc / f32(p.C);
  for (var c = 0u; c < p.C; c++) {
    let g = weight[c] * dout[base + c];
    let xhat = (x[base + c] - m) * r;
    dx[base + c] += r * (g - means.x - xhat * means.y);
  }
}
