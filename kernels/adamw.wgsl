// One AdamW step (PyTorch semantics), elementwise over n parameters, 4 per invocation; the
// flat index folds the grid's y dimension in (p.row = invocations per grid row).
//   g = grad · clip,  clip = min(1, maxGradNorm / (√ss + 1e-6)) when clipping, else 1
//   m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
//   p ← p·decay − stepSize · m / (√v · invSqrtBc2 + eps)
// with the step's constants from the host (adamwPlan in src/ops/optimizer.ts, as for the WASM
// twin): decay = 1 − lr·wd (decoupled weight decay, on the old p), stepSize = lr / (1 − β1ᵗ),
// invSqrtBc2 = 1 / √(1 − β2ᵗ). The clip factor reads the squared gradient norm ss from the
// device, so clipping needs no readback. param, m and v may be views of one buffer (all are
// read_write bindings).
struct Params {
  n: u32, row: u32, clip: u32, _p: u32,
  beta1: f32, beta2: f32, eps: f32, decay: f32,
  stepSize: f32, invSqrtBc2: f32, maxGradNorm: f32, _q: f32,
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
fn adamw(@builtin(global_invocation_id) gid: vec3<u32>) {
  let q = gid.x + gid.y * p.row;
  let i = q * 4u;
  if (i >= p.n) { return; }
  var clip = 1.0;
  if (p.clip != 0u) { clip = min(1.0, p.maxGradNorm / (sqrt(gradSumSquares[0]) + 1e-6)); }
  let g = grad[q] * clip;
  let mq = p.beta1 * m[q] + (1.0 - p.beta1) * g;
  let vq = p.beta2 * v[q] + (1.0 - p.beta2) * (g * g);
  let w = param[q] * p.decay - p.stepSize * (mq / (sqrt(vq) * p.invSqrtBc2 + p.eps));
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
