// One AdamW step (PyTorch semantics), elementwise over n parameters, 4 per invocation; the
// flat index folds the grid's y dimension in (p.row = invocations per grid row).
//   g = grad · clip,  clip = min(1, maxGradNorm / (√ss + 1e-6)) when clipping, else 1
//   p ← p − lr·wd·p                       (decoupled weight decay, on the old p)
//   m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
//   p ← p − lr · (m / bc1) / (√(v / bc2) + eps),  bc = 1 − βᵗ (computed on the host)
// The clip factor reads the squared gradient norm ss from the device, so clipping needs no
// readback. param, m and v may be views of one buffer (all are read_write bindings).
struct Params {
  n: u32, row: u32, clip: u32, _p: u32,
  lr: f32, beta1: f32, beta2: f32, eps: f32,
  weightDecay: f32, bc1: f32, bc2: f32, maxGradNorm: f32,
  // 1 − β1 and 1 − β2 rounded from float64 on the host (1 − f32(0.999) is off by 1e-5).
  oneMinusBeta1: f32, oneMinusBeta2: f32, _q0: u32, _q1: u32,
}

@group(0) @binding(0) var<storage, read_write> param: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> grad: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> m: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> gradSumSquares: array<f32>; // [1]; a placeholder without clipping
@group(0) @binding(5) var<uniform> p: Params;

const WG = 64u;

// Each invocation updates 4 consecutive values as one vec4 (tensor bindings are whole vec4s:
// sizes are padded to 16 bytes, views start on 256). In the last, partial vec4 only the
// values below n are stored: the rest may belong to another view of the same buffer.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let q = gid.x + gid.y * p.row;
  let i = q * 4u;
  if (i >= p.n) { return; }
  var clip = 1.0;
  if (p.clip != 0u) { clip = min(1.0, p.maxGradNorm / (sqrt(gradSumSquares[0]) + 1e-6)); }
  let g = grad[q] * clip;
  var w = param[q];
  w -= p.lr * p.weightDecay * w;
  let mq = p.beta1 * m[q] + p.oneMinusBeta1 * g;
  let vq = p.beta2 * v[q] + p.oneMinusBeta2 * g * g;
  w -= p.lr * (mq / p.bc1) / (sqrt(vq / p.bc2) + p.eps);
  if (i + 4u <= p.n) {
    param[q] = w;
    m[q] = mq;
    v[q] = vq;
  } else {
    for (var k = 0u; i + k < p.n; k++) {
      param[q][k] = w[k];
      m[q][k] = mq[k];
      v[q][k] = vq[k];
    }
  }
}
