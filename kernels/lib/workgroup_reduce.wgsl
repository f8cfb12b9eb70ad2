// Tree reductions across one workgroup. The including kernel defines
//   WG            its workgroup size, a power of two (a const or an override);
//   REDUCE_WG     a const ≥ WG: the values one slot holds;
//   REDUCE_SLOTS  a const: how many reductions one dispatch runs.
// Each reduction of a dispatch takes its own slot: Mesa's GL path (Dawn on llvmpipe) was seen
// to move the read of one reduction's total past the barrier that follows it, so reusing a
// slot raced. Call from uniform control flow; every invocation gets the total.
var<workgroup> reducePartial: array<vec4<f32>, REDUCE_SLOTS * REDUCE_WG>;

// The workgroup's sum of each invocation's v.
fn workgroupSum(slot: u32, li: u32, v: vec4<f32>) -> vec4<f32> {
  let o = slot * REDUCE_WG;
  reducePartial[o + li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { reducePartial[o + li] += reducePartial[o + li + s]; }
    workgroupBarrier();
  }
  return reducePartial[o];
}

// The workgroup's max of v.x, and sums of v.y, v.z and v.w.
fn workgroupMaxSum(slot: u32, li: u32, v: vec4<f32>) -> vec4<f32> {
  let o = slot * REDUCE_WG;
  reducePartial[o + li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) {
      let a = reducePartial[o + li];
      let b = reducePartial[o + li + s];
      reducePartial[o + li] = vec4(max(a.x, b.x), a.yzw + b.yzw);
    }
    workgroupBarrier();
  }
  return reducePartial[o];
}
