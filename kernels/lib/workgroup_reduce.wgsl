// Tree reductions across one workgroup, in f32, vec2 and vec4 (each width its own workgroup
// array: an entry point holds only the ones it uses, and a software rasteriser pays for every
// lane of the tree). The including kernel defines
//   WG            its workgroup size, a power of two (a const or an override);
//   REDUCE_WG     a const ≥ WG: the values one slot holds;
//   REDUCE_SLOTS  a const: how many reductions one dispatch runs.
// Each reduction of a dispatch takes its own slot (numbered across the widths): Mesa's GL path
// (Dawn on llvmpipe) was seen to move the read of one reduction's total past the barrier that
// follows it, so reusing a slot raced. Call from uniform control flow; every invocation gets
// the total.
var<workgroup> reduce1: array<f32, REDUCE_SLOTS * REDUCE_WG>;
var<workgroup> reduce2: array<vec2<f32>, REDUCE_SLOTS * REDUCE_WG>;
var<workgroup> reduce4: array<vec4<f32>, REDUCE_SLOTS * REDUCE_WG>;

// The workgroup's sum of each invocation's v.
fn workgroupSum(slot: u32, li: u32, v: f32) -> f32 {
  let o = slot * REDUCE_WG;
  reduce1[o + li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { reduce1[o + li] += reduce1[o + li + s]; }
    workgroupBarrier();
  }
  return reduce1[o];
}

// The workgroup's maximum of each invocation's v.
fn workgroupMax(slot: u32, li: u32, v: f32) -> f32 {
  let o = slot * REDUCE_WG;
  reduce1[o + li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { reduce1[o + li] = max(reduce1[o + li], reduce1[o + li + s]); }
    workgroupBarrier();
  }
  return reduce1[o];
}

// The workgroup's minimum of each invocation's v.
fn workgroupMin(slot: u32, li: u32, v: f32) -> f32 {
  let o = slot * REDUCE_WG;
  reduce1[o + li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { reduce1[o + li] = min(reduce1[o + li], reduce1[o + li + s]); }
    workgroupBarrier();
  }
  return reduce1[o];
}

// Two sums at once.
fn workgroupSum2(slot: u32, li: u32, v: vec2<f32>) -> vec2<f32> {
  let o = slot * REDUCE_WG;
  reduce2[o + li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { reduce2[o + li] += reduce2[o + li + s]; }
    workgroupBarrier();
  }
  return reduce2[o];
}

// Four sums at once.
fn workgroupSum4(slot: u32, li: u32, v: vec4<f32>) -> vec4<f32> {
  let o = slot * REDUCE_WG;
  reduce4[o + li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { reduce4[o + li] += reduce4[o + li + s]; }
    workgroupBarrier();
  }
  return reduce4[o];
}
