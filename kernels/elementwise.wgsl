// Elementwise ops over n f32 values. The grid may be 2-D when n needs more than 65535
// workgroups, so the flat index folds y in. out may alias an input (same binding is fine:
// each invocation reads and writes only its own element).
struct Params { n: u32, row: u32, s: f32, _p: u32 }

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const WG = 256u;

@compute @workgroup_size(WG)
fn add(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.row;
  if (i < p.n) { out[i] = a[i] + b[i]; }
}

@compute @workgroup_size(WG)
fn scale(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.row;
  if (i < p.n) { out[i] = a[i] * p.s; }
}
