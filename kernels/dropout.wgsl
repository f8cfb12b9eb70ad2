// dropout: out (+)= x · keep · scale with keep = (u ≥ threshold), u randomUniform's element i
// (philoxUniform, as kernels/random.wgsl draws it), so the mask is the host's philoxUniforms
// thresholded. One value per invocation: Philox's ten rounds dominate, not the loads. The flat
// index folds the grid's y dimension in (p.row = invocations per grid row); where x or out does
// not bind whole the host runs pieces, each with stream moved to its first element.
//! include lib/philox.wgsl
struct Params {
  n: u32, row: u32, key0: u32, key1: u32, stream: u32, offset: u32,
  // ⌈p·2²⁴⌉·2⁻²⁴ (exact in f32): u ≥ threshold exactly when u ≥ p. 0: keep all, draw nothing.
  threshold: f32,
  // f32(1 / (1 − p))
  scale: f32,
  accumulate: u32, _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

const WG = 64u;

@compute @workgroup_size(WG)
fn dropout(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.n) { return; }
  var factor = p.scale;
  if (p.threshold > 0.0 && philoxUniform(vec2<u32>(p.key0, p.key1), p.stream, p.offset, i) < p.threshold) { factor = 0.0; }
  // x · 0, not 0, for a dropped value (as PyTorch): a NaN or ±inf in x stays visible.
  var y = x[i] * factor;
  if (p.accumulate != 0u) { y += out[i]; }
  out[i] = y;
}
