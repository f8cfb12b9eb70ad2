// Activations and their derivatives, elementwise over n values: GELU, tanh approximation
// (GPT-2's), SiLU, and SwiGLU's product SiLU(gate) ⊙ up (Llama's MLP).
// Each invocation handles 4 consecutive values as one vec4 (tensor bindings are whole vec4s:
// sizes are padded to 16 bytes, views start on 256); in the last, partial vec4 only the values
// below n are stored, as the rest may belong to another view of the same buffer. The flat
// index folds the grid's y dimension in (p.row = invocations per grid row).
struct Params { n: u32, row: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> dout: array<vec4<f32>>;     // backward only
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>; // f(x), or dx
@group(0) @binding(3) var<uniform> p: Params;
// SwiGLU's operands (its kernels write its product to `out`).
@group(0) @binding(4) var<storage, read> gate: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> up: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> dgate: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> dup: array<vec4<f32>>;

const WG = 64u;
const SQRT_2_OVER_PI = 0.7978845608028654;
const K = 0.044715;

// tanh(√(2/π)(x + 0.044715x³)). The argument is clamped to ±15, where tanh is ±1 in f32:
// some drivers evaluate tanh through exp and return NaN for |u| beyond ~44 (and x³
// overflows to ±inf for |x| > ~7e12).
fn tanhTerm(v: vec4<f32>) -> vec4<f32> {
  return tanh(clamp(SQRT_2_OVER_PI * (v + K * v * v * v), vec4(-15.0), vec4(15.0)));
}

fn geluOf(v: vec4<f32>) -> vec4<f32> {
  return 0.5 * v * (1.0 + tanhTerm(v));
}

// d/dx: 0.5(1 + t) + 0.5x(1 − t²)·√(2/π)(1 + 3·0.044715x²). Past |x| = 10, t is ±1 in f32
// and the second term is exactly 0, but x·x² may overflow and turn 0 into NaN: use the limit.
fn geluGrad(v: vec4<f32>) -> vec4<f32> {
  let t = tanhTerm(v);
  let g = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * K * v * v);
  return select(g, 0.5 * (1.0 + t), abs(v) > vec4(10.0));
}

// out[q] = r, storing only the values below n.
fn store(q: u32, r: vec4<f32>) {
  let i = q * 4u;
  if (i + 4u <= p.n) {
    out[q] = r;
  } else {
    for (var k = 0u; i + k < p.n; k++) { out[q][k] = r[k]; }
  }
}

@compute @workgroup_size(WG)
fn gelu(@builtin(global_invocation_id) gid: vec3<u32>) {
  let q = gid.x + gid.y * p.row;
  if (q * 4u >= p.n) { return; }
  store(q, geluOf(x[q]));
}

// dx = dout · GELU′(x) (overwrites dx)
@compute @workgroup_size(WG)
fn gelu_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let q = gid.x + gid.y * p.row;
  if (q * 4u >= p.n) { return; }
  store(q, dout[q] * geluGrad(x[q]));
}

// σ(v) without overflow: e^−|v| never exceeds 1.
fn sigmoid4(v: vec4<f32>) -> vec4<f32> {
  let e = exp(-abs(v));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), v >= vec4(0.0));
}

// d · SiLU′(v), SiLU′ = σ(v)·(1 + v·(1 − σ(v))), given s = σ(v) (in the WASM twin's order).
fn timesSiluGrad(d: vec4<f32>, v: vec4<f32>, s: vec4<f32>) -> vec4<f32> {
  return d * s * (1.0 + v * (1.0 - s));
}

// SiLU(x) = x·σ(x)
@compute @workgroup_size(WG)
fn silu(@builtin(global_invocation_id) gid: vec3<u32>) {
  let q = gid.x + gid.y * p.row;
  if (q * 4u >= p.n) { return; }
  let v = x[q];
  store(q, v * sigmoid4(v));
}

// dx = dout · SiLU′(x) (overwrites dx)
@compute @workgroup_size(WG)
fn silu_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let q = gid.x + gid.y * p.row;
  if (q * 4u >= p.n) { return; }
  let v = x[q];
  store(q, timesSiluGrad(dout[q], v, sigmoid4(v)));
}

// out = SiLU(gate) ⊙ up
@compute @workgroup_size(WG)
fn swiglu(@builtin(global_invocation_id) gid: vec3<u32>) {
  let q = gid.x + gid.y * p.row;
  if (q * 4u >= p.n) { return; }
  let g = gate[q];
  store(q, g * sigmoid4(g) * up[q]);
}

// dgate = dout · up · SiLU′(gate), dup = dout · SiLU(gate) (overwrites both; in the last,
// partial vec4 only the values below n, as store() does)
@compute @workgroup_size(WG)
fn swiglu_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let q = gid.x + gid.y * p.row;
  let i = q * 4u;
  if (i >= p.n) { return; }
  let g = gate[q];
  let d = dout[q];
  let s = sigmoid4(g);
  let dg = timesSiluGrad(d * up[q], g, s);
  let du = d * (g * s);
  if (i + 4u <= p.n) {
    dgate[q] = dg;
    dup[q] = du;
  } else {
    for (var k = 0u; i + k < p.n; k++) {
      dgate[q][k] = dg[k];
      dup[q][k] = du[k];
    }
  }
}
