// Shared by the loss kernels (prepended to each, as philox.wgsl is to the samplers): they
// run as ONE workgroup of LOSS_WG invocations over a batch's tokens or rows, each
// invocation striding over its share and the partial sums combined by a tree here.
const LOSS_WG = 64u;
// A slot is never reused within a dispatch (Mesa's GL path was seen to move the read of one
// reduction's total past the barrier that follows it; see crossentropy.wgsl).
const LOSS_SLOTS = 4u;
var<workgroup> lossPartial: array<vec4<f32>, LOSS_SLOTS * LOSS_WG>;

// The sum over the workgroup of each invocation's v. Call from uniform control flow.
fn workgroupSum(slot: u32, li: u32, v: vec4<f32>) -> vec4<f32> {
  let o = slot * LOSS_WG;
  lossPartial[o + li] = v;
  workgroupBarrier();
  for (var s = LOSS_WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { lossPartial[o + li] += lossPartial[o + li + s]; }
    workgroupBarrier();
  }
  return lossPartial[o];
}

// log σ(x) without overflow: −(max(−x, 0) + log(1 + e^−|x|)).
fn logSigmoid(x: f32) -> f32 {
  return -(max(-x, 0.0) + log(1.0 + exp(-abs(x))));
}

fn sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}

fn masked(m: f32) -> bool {
  return m != 0.0;
}

// log(1 + x) for x ≥ 0: 1 + x rounds to 1 below x ≈ 6e-8, so small x takes the series.
fn log1pSmall(x: f32) -> f32 {
  return select(log(1.0 + x), x * (1.0 - x * (0.5 - x / 3.0)), x < 1e-3);
}

// softplus(x) = log(1 + eˣ) without overflow, accurate where it is tiny (very negative x).
fn softplus(x: f32) -> f32 {
  return max(x, 0.0) + log1pSmall(exp(-abs(x)));
}
