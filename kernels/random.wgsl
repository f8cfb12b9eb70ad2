// randomUniform: out[i] = philoxUniform(key, stream, offset, i), one value per invocation;
// the flat index folds the grid's y dimension in (p.row = invocations per grid row).
//! include lib/philox.wgsl
struct Params { n: u32, row: u32, key0: u32, key1: u32, stream: u32, offset: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

const WG = 64u;

@compute @workgroup_size(WG)
fn random_uniform(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.n) { return; }
  out[i] = philoxUniform(vec2<u32>(p.key0, p.key1), p.stream, p.offset, i);
}
