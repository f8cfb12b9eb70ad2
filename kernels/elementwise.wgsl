// Elementwise ops over n f32 values. The grid may be 2-D when n needs more than 65535
// workgroups, so the flat index folds y in (p.row = invocations per grid row).
// WebGPU forbids binding one buffer as both read-only and read-write in a dispatch, so
// in-place forms (out aliasing an input) have their own entry points on `out` alone.
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

/** out += b */
@compute @workgroup_size(WG)
fn add__into(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.row;
  if (i < p.n) { out[i] = out[i] + b[i]; }
}

@compute @workgroup_size(WG)
fn scale(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.row;
  if (i < p.n) { out[i] = a[i] * p.s; }
}

/** out *= s */
@compute @workgroup_size(WG)
fn scale__into(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.row;
  if (i < p.n) { out[i] = out[i] * p.s; }
}
