// Rotary position embedding, Hugging Face's rotate-half form, on x [N, W] token-major: W holds
// heads of D = 2·half values, and the pair (i, i + half) of every head of row n rotates by the
// angle of table row positions[n]: out₁ = x₁·cos − x₂·sin, out₂ = x₂·cos + x₁·sin. p.sign = −1
// rotates back (the transpose: the backward). One invocation per pair; it reads its pair before
// writing it, so rotary_embedding__into works in place on `out` alone (WebGPU binds a buffer
// once per dispatch). Positions arrive as f32 holding integers; one past the table is clamped
// into it, so a bad position reads a wrong row but never outside the table.
struct Params {
  pairs: u32,  // N · W/2
  W: u32,      // row width
  half: u32,   // D/2: pairs per head, columns of the tables
  P: u32,      // table rows
  gridX: u32,  // workgroups in the grid's x dimension
  sign: f32,   // 1, or −1 for the inverse
  _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;          // [N, W]
@group(0) @binding(1) var<storage, read> positions: array<f32>;  // [N]
@group(0) @binding(2) var<storage, read> cosTable: array<f32>;   // [P, half]
@group(0) @binding(3) var<storage, read> sinTable: array<f32>;   // [P, half]
@group(0) @binding(4) var<storage, read_write> out: array<f32>;  // [N, W]
@group(0) @binding(5) var<uniform> p: Params;

const WG = 64u;

struct Pair {
  a: u32,   // index of x₁; x₂ is a + half
  c: f32,
  s: f32,
}

fn pairOf(e: u32) -> Pair {
  let rowPairs = p.W / 2u;
  let n = e / rowPairs;
  let j = e % rowPairs;
  let i = j % p.half;
  let t = min(u32(positions[n]), p.P - 1u) * p.half + i;
  return Pair(n * p.W + (j / p.half) * 2u * p.half + i, cosTable[t], p.sign * sinTable[t]);
}

// Writes pair r of out from its values x1, x2, rotated.
fn rotate(r: Pair, x1: f32, x2: f32) {
  out[r.a] = x1 * r.c - x2 * r.s;
  out[r.a + p.half] = x2 * r.c + x1 * r.s;
}

@compute @workgroup_size(WG)
fn rotary_embedding(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.x + gid.y * p.gridX * WG;
  if (e >= p.pairs) { return; }
  let r = pairOf(e);
  rotate(r, x[r.a], x[r.a + p.half]);
}

@compute @workgroup_size(WG)
fn rotary_embedding__into(@builtin(global_invocation_id) gid: vec3<u32>) {
  let e = gid.x + gid.y * p.gridX * WG;
  if (e >= p.pairs) { return; }
  let r = pairOf(e);
  rotate(r, out[r.a], out[r.a + p.half]);
}
