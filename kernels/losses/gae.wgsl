// gae: one invocation per row (strided over the rows), walking its tokens backwards.
// A token off the mask resets the recursion, so the value after a row's last response
// token is 0.
//! include lib/loss_workgroup.wgsl
struct Params { R: u32, T: u32, _p0: u32, _p1: u32, gamma: f32, lam: f32, _q0: f32, _q1: f32 }

@group(0) @binding(0) var<storage, read> rewards: array<f32>;
@group(0) @binding(1) var<storage, read> values: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> advantages: array<f32>;
@group(0) @binding(4) var<storage, read_write> returns: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn gae(@builtin(local_invocation_index) li: u32) {
  for (var r = li; r < p.R; r += WG) {
    var nextValue = 0.0;
    var nextAdvantage = 0.0;
    for (var k = 0u; k < p.T; k++) {
      let i = r * p.T + (p.T - 1u - k);
      if (!masked(mask[i])) {
        nextValue = 0.0;
        nextAdvantage = 0.0;
        advantages[i] = 0.0;
        returns[i] = 0.0;
        continue;
      }
      let v = values[i];
      let a = (rewards[i] + p.gamma * nextValue - v) + p.gamma * p.lam * nextAdvantage;
      advantages[i] = a;
      returns[i] = a + v;
      nextValue = v;
      nextAdvantage = a;
    }
  }
}
