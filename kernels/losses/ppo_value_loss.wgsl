// ppoValueLoss: one pass for n and the stats, one for the gradient.
//! include lib/loss_workgroup.wgsl
struct Params { N: u32, _p0: u32, _p1: u32, _p2: u32, cliprangeValue: f32, vfCoef: f32, _q0: f32, _q1: f32 }

@group(0) @binding(0) var<storage, read> values: array<f32>;
@group(0) @binding(1) var<storage, read> oldValues: array<f32>;
@group(0) @binding(2) var<storage, read> returns: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<f32>;
@group(0) @binding(4) var<storage, read_write> dValues: array<f32>;
@group(0) @binding(5) var<storage, read_write> stats: array<f32>;  // PPO_VALUE_STATS
@group(0) @binding(6) var<uniform> p: Params;

// (unclipped (V − R)², clipped (clip(V) − R)²) of token i.
fn terms(i: u32) -> vec2<f32> {
  let v = values[i];
  let old = oldValues[i];
  let clipped = clamp(v, old - p.cliprangeValue, old + p.cliprangeValue);
  let a = v - returns[i];
  let b = clipped - returns[i];
  return vec2<f32>(a * a, b * b);
}

@compute @workgroup_size(WG)
fn ppo_value_loss(@builtin(local_invocation_index) li: u32) {
  var acc = vec4<f32>(0.0); // n, Σ ½max, Σ clipped
  for (var i = li; i < p.N; i += WG) {
    if (!masked(mask[i])) { continue; }
    let t = terms(i);
    acc += vec4<f32>(1.0, 0.5 * max(t.x, t.y), select(0.0, 1.0, t.y > t.x), 0.0);
  }
  let s = workgroupSum4(0u, li, acc);
  let inv = 1.0 / max(s.x, 1.0);
  for (var i = li; i < p.N; i += WG) {
    var g = 0.0;
    if (masked(mask[i])) {
      let t = terms(i);
      // Where the clipped term wins, V is outside the clip range and the loss is flat in V.
      if (t.x >= t.y) { g = p.vfCoef * (values[i] - returns[i]) * inv; }
    }
    dValues[i] = g;
  }
  if (li == 0u) {
    stats[0] = s.y * inv;
    stats[1] = s.z * inv;
  }
}
