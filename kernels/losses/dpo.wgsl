// dpoLoss: one invocation per pair (strided) sums its two rows' log-probs, then
// writes the pair's gradient into every masked token of both rows.
//! include lib/loss_workgroup.wgsl
struct Params { P: u32, T: u32, _p0: u32, _p1: u32, beta: f32, _q0: f32, _q1: f32, _q2: f32 }

@group(0) @binding(0) var<storage, read> logprobs: array<f32>;
@group(0) @binding(1) var<storage, read> refLogprobs: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> dLogprobs: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;  // DPO_STATS
@group(0) @binding(5) var<uniform> p: Params;

// (Σ logprobs, Σ refLogprobs) over row r's masked tokens.
fn rowSums(r: u32) -> vec2<f32> {
  var s = vec2<f32>(0.0);
  for (var t = 0u; t < p.T; t++) {
    let i = r * p.T + t;
    if (masked(mask[i])) { s += vec2<f32>(logprobs[i], refLogprobs[i]); }
  }
  return s;
}

fn fillRow(r: u32, g: f32) {
  for (var t = 0u; t < p.T; t++) {
    let i = r * p.T + t;
    dLogprobs[i] = select(0.0, g, masked(mask[i]));
  }
}

@compute @workgroup_size(WG)
fn dpo(@builtin(local_invocation_index) li: u32) {
  let inv = 1.0 / f32(p.P);
  var acc0 = vec4<f32>(0.0); // Σ loss, Σ chosen reward, Σ rejected reward, Σ [chosen > rejected]
  var acc1 = vec4<f32>(0.0); // Σ s_w, Σ s_l
  for (var i = li; i < p.P; i += WG) {
    let w = rowSums(i);
    let l = rowSums(p.P + i);
    let rw = p.beta * (w.x - w.y);
    let rl = p.beta * (l.x - l.y);
    let z = rw - rl;
    acc0 += vec4<f32>(-logSigmoid(z), rw, rl, select(0.0, 1.0, z > 0.0));
    acc1 += vec4<f32>(w.x, l.x, 0.0, 0.0);
    // ∂/∂s_w −log σ(β·h) = −β·σ(−β·h); the rejected row gets the opposite.
    let g = p.beta * sigmoid(-z) * inv;
    fillRow(i, -g);
    fillRow(p.P + i, g);
  }
  let s0 = workgroupSum4(0u, li, acc0);
  let s1 = workgroupSum4(1u, li, acc1);
  if (li == 0u) {
    stats[0] = s0.x * inv;
    stats[1] = s0.y * inv;
    stats[2] = s0.z * inv;
    stats[3] = s0.w * inv;
    stats[4] = (s0.y - s0.z) * inv;
    stats[5] = s1.x * inv;
    stats[6] = s1.y * inv;
  }
}
