// out[b] = alpha · op(A[b]) · op(B[b]) (+ bias) (+ out[b] when accumulating). Row-major f32.
// One invocation per output element; strides in elements, strideB = 0 broadcasts B.
struct Params {
  M: u32, N: u32, K: u32, batch: u32,
  strideA: u32, strideB: u32, strideOut: u32, flags: u32,
  alpha: f32, _p0: u32, _p1: u32, _p2: u32,
}
const TRANS_A = 1u;
const TRANS_B = 2u;
const HAS_BIAS = 4u;
const ACCUMULATE = 8u;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = gid.x;
  let m = gid.y;
  let bi = gid.z;
  if (m >= p.M || n >= p.N) { return; }
  let oa = bi * p.strideA;
  let ob = bi * p.strideB;
  var acc = 0.0;
  for (var k = 0u; k < p.K; k++) {
    let ia = select(m * p.K + k, k * p.M + m, (p.flags & TRANS_A) != 0u);
    let ib = select(k * p.N + n, n * p.K + k, (p.flags & TRANS_B) != 0u);
    acc += a[oa + ia] * b[ob + ib];
  }
  var v = p.alpha * acc;
  if ((p.flags & HAS_BIAS) != 0u) { v += bias[n]; }
  let io = bi * p.strideOut + m * p.N + n;
  if ((p.flags & ACCUMULATE) != 0u) { v += out[io]; }
  out[io] = v;
}
