// Row reductions of a [rows, cols] f32 matrix into out[rows]: one workgroup per row, each
// invocation folds a strided slice, then a tree in workgroup memory. Rows beyond 65535
// wrap into the grid's y dimension.
struct Params { rows: u32, cols: u32, gridX: u32, _p: u32 }

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

const WG = 256u;
var<workgroup> partial: array<f32, WG>;

fn row_index(wg: vec3<u32>) -> u32 { return wg.x + wg.y * p.gridX; }

@compute @workgroup_size(WG)
fn reduce_sum(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = row_index(wg);
  var acc = 0.0;
  if (row < p.rows) {
    let base = row * p.cols;
    for (var c = li; c < p.cols; c += WG) { acc += a[base + c]; }
  }
  partial[li] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { partial[li] += partial[li + s]; }
    workgroupBarrier();
  }
  if (li == 0u && row < p.rows) { out[row] = partial[0]; }
}

@compute @workgroup_size(WG)
fn reduce_max(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = row_index(wg);
  // Start from a real element of the row (repeating one is harmless for max), so no
  // identity value is needed and a row of -inf reduces to -inf.
  var acc = 0.0;
  if (row < p.rows) {
    let base = row * p.cols;
    acc = a[base + min(li, p.cols - 1u)];
    for (var c = li + WG; c < p.cols; c += WG) { acc = max(acc, a[base + c]); }
  }
  partial[li] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { partial[li] = max(partial[li], partial[li + s]); }
    workgroupBarrier();
  }
  if (li == 0u && row < p.rows) { out[row] = partial[0]; }
}
