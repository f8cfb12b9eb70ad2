// Row reductions of a [rows, cols] f32 matrix into out[rows]: one workgroup per row, each
// invocation folds a strided slice, then a tree in workgroup memory. Rows beyond 65535
// wrap into the grid's y dimension. The pipeline constant IS_MAX picks max over sum.
struct Params { rows: u32, cols: u32, gridX: u32, _p: u32 }

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

override IS_MAX: bool = false;
const WG = 256u;
var<workgroup> partial: array<f32, WG>;

fn combine(x: f32, y: f32) -> f32 {
  if (IS_MAX) { return max(x, y); }
  return x + y;
}

@compute @workgroup_size(WG)
fn reduce_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = wg.x + wg.y * p.gridX;
  var acc = 0.0;
  if (row < p.rows) {
    let base = row * p.cols;
    // max starts from a real element of the row (repeating one is harmless), so it needs no
    // identity value and a row of -inf reduces to -inf; sum starts from 0.
    if (IS_MAX) { acc = a[base + min(li, p.cols - 1u)]; }
    for (var c = li; c < p.cols; c += WG) { acc = combine(acc, a[base + c]); }
  }
  partial[li] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { partial[li] = combine(partial[li], partial[li + s]); }
    workgroupBarrier();
  }
  if (li == 0u && row < p.rows) { out[row] = partial[0]; }
}
