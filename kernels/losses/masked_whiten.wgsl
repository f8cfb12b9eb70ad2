// maskedWhiten: the masked mean, then the unbiased masked variance (two passes, so
// no cancellation), then every element rescaled.
//! include lib/loss_workgroup.wgsl
struct Params { N: u32, shiftMean: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> mask: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn masked_whiten(@builtin(local_invocation_index) li: u32) {
  var acc = vec4<f32>(0.0);
  for (var i = li; i < p.N; i += WG) {
    if (masked(mask[i])) { acc += vec4<f32>(x[i], 1.0, 0.0, 0.0); }
  }
  let sums = workgroupSum4(0u, li, acc);
  let n = sums.y;
  let mean = sums.x / max(n, 1.0);
  var dev = vec4<f32>(0.0);
  for (var i = li; i < p.N; i += WG) {
    if (masked(mask[i])) { let d = x[i] - mean; dev.x += d * d; }
  }
  let squares = workgroupSum4(1u, li, dev).x;
  let variance = select(0.0, squares / (n - 1.0), n > 1.0);
  let inv = inverseSqrt(variance + 1e-8);
  let back = select(mean, 0.0, p.shiftMean != 0u);
  for (var i = li; i < p.N; i += WG) {
    out[i] = select(0.0, (x[i] - mean) * inv + back, masked(mask[i]));
  }
}
