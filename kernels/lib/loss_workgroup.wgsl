// The loss kernels (kernels/losses/) run as ONE workgroup of WG invocations over a batch's
// tokens or rows: each invocation strides over its share, partial sums meet in a tree
// (workgroup_reduce.wgsl), at most two reductions per dispatch.
//! include lib/workgroup_reduce.wgsl
//! include lib/math.wgsl
const WG = 64u;
const REDUCE_WG = WG;
const REDUCE_SLOTS = 2u;
