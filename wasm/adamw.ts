// One AdamW step (PyTorch semantics) over n parameters in place:
//   g = grad·clip;  p ← p·(1 − lr·wd);  m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;
//   p ← p − (lr / (1 − β1ᵗ))·m / (√v / √(1 − β2ᵗ) + eps).
// clip = min(1, maxGradNorm / (√ss + 1e-6)) with ss read from gradSumSquares[0] when that
// pointer is non-zero and maxGradNorm > 0, else 1. JavaScript passes the step's constants
// (adamwPlan in src/ops/optimizer.ts, as for the WGSL twin): decay = 1 − lr·wd,
// stepSize = lr / (1 − β1ᵗ), invSqrtBc2 = 1 / √(1 − β2ᵗ).

export function adamw(
  param: usize, grad: usize, m: usize, v: usize, n: i32,
  beta1: f32, beta2: f32, eps: f32, decay: f32, stepSize: f32, invSqrtBc2: f32,
  gradSumSquares: usize, maxGradNorm: f64,
): void {
  let clip: f32 = 1;
  if (gradSumSquares && maxGradNorm > 0) clip = <f32>min(1.0, maxGradNorm / (Math.sqrt(<f64>load<f32>(gradSumSquares)) + 1e-6));
  const b1 = f32x4.splat(beta1), c1 = f32x4.splat(1 - beta1);
  const b2 = f32x4.splat(beta2), c2 = f32x4.splat(1 - beta2);
  const ep = f32x4.splat(eps), dc = f32x4.splat(decay), ss = f32x4.splat(stepSize), ib = f32x4.splat(invSqrtBc2), cl = f32x4.splat(clip);
  const bytes = <usize>n * 4;
  let i: usize = 0;
  for (; i + 16 <= bytes; i += 16) {
    const g = f32x4.mul(v128.load(grad + i), cl);
    const mi = f32x4.add(f32x4.mul(b1, v128.load(m + i)), f32x4.mul(c1, g));
    const vi = f32x4.add(f32x4.mul(b2, v128.load(v + i)), f32x4.mul(c2, f32x4.mul(g, g)));
    const denom = f32x4.add(f32x4.mul(f32x4.sqrt(vi), ib), ep);
    const p = f32x4.sub(f32x4.mul(v128.load(param + i), dc), f32x4.mul(ss, f32x4.div(mi, denom)));
    v128.store(m + i, mi);
    v128.store(v + i, vi);
    v128.store(param + i, p);
  }
  for (; i < bytes; i += 4) {
    const g = load<f32>(grad + i) * clip;
    const mi = beta1 * load<f32>(m + i) + (1 - beta1) * g;
    const vi = beta2 * load<f32>(v + i) + (1 - beta2) * (g * g);
    const denom = Mathf.sqrt(vi) * invSqrtBc2 + eps;
    store<f32>(m + i, mi);
    store<f32>(v + i, vi);
    store<f32>(param + i, load<f32>(param + i) * decay - stepSize * (mi / denom));
  }
}
