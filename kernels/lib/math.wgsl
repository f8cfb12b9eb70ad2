// Scalar helpers shared by kernels (the WASM side's twins are in wasm/lib/logistic.ts).

// log σ(x) without overflow: −(max(−x, 0) + log(1 + e^−|x|)).
fn logSigmoid(x: f32) -> f32 {
  return -(max(-x, 0.0) + log(1.0 + exp(-abs(x))));
}

fn sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}

// log(1 + x) for x ≥ 0: 1 + x rounds to 1 below x ≈ 6e-8, so small x takes the series.
fn log1pSmall(x: f32) -> f32 {
  return select(log(1.0 + x), x * (1.0 - x * (0.5 - x / 3.0)), x < 1e-3);
}

// softplus(x) = log(1 + eˣ) without overflow, accurate where it is tiny (very negative x).
fn softplus(x: f32) -> f32 {
  return max(x, 0.0) + log1pSmall(exp(-abs(x)));
}

// Whether a mask value selects its element (masks hold 1 and 0).
fn masked(m: f32) -> bool {
  return m != 0.0;
}
