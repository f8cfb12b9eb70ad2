// grpoLoss (src/ops/grpo_loss.ts): GRPO's and RLOO's clipped policy loss, the k3 KL penalty,
// and the gradient as torch's autograd gives it. Two single-workgroup dispatches, each within
// the 8 storage buffers a stage is guaranteed: grpo_loss (all but the entropy stat), then
// grpo_loss__entropy (the masked mean of `entropies`).
// In grpo_loss each invocation takes whole rows, since a row's importance weight (sequence
// levels), normaliser and clip fractions are its own: per row, one pass for n_r and Σm·d, one
// for the token terms (writing dLogprobs with the row's weight) and, at sequence levels, one
// adding the row's ∂L/∂logw. Four reductions follow (sums, clip counts, the rows' min and
// max); bnpo's weight 1/Σm is known only then, so its rows are rescaled last (each invocation
// its own rows: it reads what it wrote). An invocation loops about 3–4·T times per row it
// owns: Mesa's gallivm ends an invocation's loops after 65535 iterations, which R·T up to
// ~1M tokens stays under.
//! include lib/workgroup_reduce.wgsl
//! include lib/math.wgsl
const WG = 64u;
const REDUCE_WG = WG;
const REDUCE_SLOTS = 4u;

// GRPO_LOSS_TYPES and IMPORTANCE_SAMPLING_LEVELS, by index.
const GRPO = 0u;
const BNPO = 1u;
const DR_GRPO = 2u;
const DAPO = 3u;
const RLOO = 4u;
const TOKEN = 0u;
const SEQUENCE = 1u; // and 2: 'sequence_sum'

// delta 0: no cap (null). tokenLevel 1: tokenAdvantages is read (else it is bound to something
// else and unread), and the clip ratios are per token even at sequence levels (TRL's shapes:
// (B, T) advantages make (B, T) indicators). klCorrection 1: the KL term is multiplied by the ratio (TRL's use_bias_correction_kl).
struct Params {
  R: u32, T: u32, lossType: u32, level: u32,
  epsilonLow: f32, epsilonHigh: f32, delta: f32, beta: f32,
  maxCompletionLength: f32, tokensInBatch: f32, accumulationSteps: f32, klCorrection: f32,
  tokenLevel: u32, _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<storage, read> logprobs: array<f32>;
@group(0) @binding(1) var<storage, read> oldLogprobs: array<f32>;
@group(0) @binding(2) var<storage, read> refLogprobs: array<f32>;
@group(0) @binding(3) var<storage, read> rowAdvantages: array<f32>;
@group(0) @binding(4) var<storage, read> tokenAdvantages: array<f32>;
@group(0) @binding(5) var<storage, read> mask: array<f32>;
@group(0) @binding(6) var<storage, read_write> dLogprobs: array<f32>;
@group(0) @binding(7) var<storage, read_write> stats: array<f32>;  // GRPO_STATS
@group(0) @binding(8) var<storage, read> entropies: array<f32>;     // grpo_loss__entropy's
@group(0) @binding(9) var<uniform> p: Params;

// pg = −min(c1·A, c2·A) at ratio ρ, ∂pg/∂logw (torch: a tie of min gives each side half,
// clamps pass the gradient inside their bounds, inclusive), and TRL's clip indicators of c1.
struct Policy { pg: f32, dpg: f32, low: f32, high: f32 }

fn policy(rho: f32, a: f32) -> Policy {
  let lo = 1.0 - p.epsilonLow;
  let hi = 1.0 + p.epsilonHigh;
  let capped = p.delta > 0.0;
  let c1 = select(rho, min(rho, p.delta), capped);
  let c2 = clamp(rho, lo, hi);
  let u1 = c1 * a;
  let u2 = c2 * a;
  let s1 = select(select(0.0, 1.0, u1 < u2), 0.5, u1 == u2);
  let d1 = select(0.0, rho, !capped || rho <= p.delta);
  let d2 = select(0.0, rho, rho >= lo && rho <= hi);
  return Policy(-min(u1, u2), -a * (s1 * d1 + (1.0 - s1) * d2), select(0.0, 1.0, c1 < lo && a < 0.0), select(0.0, 1.0, c1 > hi && a > 0.0));
}

// The loss weight of row r's tokens (n: its masked tokens), bnpo's 1/Σm left out.
fn rowWeight(n: f32) -> f32 {
  let R = f32(p.R);
  let ga = p.accumulationSteps;
  switch p.lossType {
    case GRPO: { return 1.0 / (max(n, 1.0) * R * ga); }
    case DR_GRPO: { return 1.0 / (R * p.maxCompletionLength * ga); }
    case DAPO: { return 1.0 / max(p.tokensInBatch, 1.0); }
    case RLOO: { return 1.0 / (R * ga); }
    default: { return 1.0 / ga; } // BNPO
  }
}

@compute @workgroup_size(WG)
fn grpo_loss(@builtin(local_invocation_index) li: u32) {
  let T = p.T;
  let perToken = p.level == TOKEN;
  let rloo = p.lossType == RLOO;
  var acc0 = vec4<f32>(0.0); // Σm, Σ weighted loss, Σm·kl
  var acc1 = vec4<f32>(0.0); // clip counts low, high, region: of tokens, or of rows at sequence levels
  // Clip fractions lie in [0, 1]: 2 and −1 stand for "no row".
  var lowMin = 2.0;
  var highMax = -1.0;
  for (var r = li; r < p.R; r += WG) {
    let base = r * T;
    var n = 0.0;
    var sumD = 0.0;
    for (var t = 0u; t < T; t++) {
      let k = base + t;
      if (masked(mask[k])) {
        n += 1.0;
        sumD += logprobs[k] - oldLogprobs[k];
      }
    }
    let w = rowWeight(n);
    let rowA = rowAdvantages[r];
    // The row's log importance weight (sequence levels; 0 at 'token', where it is unused).
    var logw = 0.0;
    if (p.level == SEQUENCE) { logw = sumD / max(n, 1.0); } else if (!perToken) { logw = sumD; }
    let rowRho = exp(logw);
    let row = policy(rowRho, rowA);
    var loss = 0.0;
    var kl = 0.0;
    var dLogw = 0.0; // Σm·∂pg/∂logw of the row's tokens (sequence levels)
    var low = 0.0;
    var high = 0.0;
    for (var t = 0u; t < T; t++) {
      let k = base + t;
      if (!masked(mask[k])) {
        dLogprobs[k] = 0.0;
        continue;
      }
      var g = 0.0; // ∂ℓ_k/∂logprobs_k through the token's own terms
      if (!rloo) {
        let rho = select(rowRho, exp(logprobs[k] - oldLogprobs[k]), perToken);
        var a = rowA;
        if (p.tokenLevel != 0u) { a += tokenAdvantages[k]; }
        let term = policy(rho, a);
        loss += term.pg;
        if (perToken) { g = term.dpg; } else { dLogw += term.dpg; }
        low += term.low;
        high += term.high;
      }
      if (p.beta != 0.0) {
        let x = refLogprobs[k] - logprobs[k];
        let e = exp(x);
        // With the correction, β·k3·ρ: ρ (not detached) adds k3·ρ·∂logw to the gradient.
        let rho = select(1.0, select(rowRho, exp(logprobs[k] - oldLogprobs[k]), perToken), p.klCorrection != 0.0);
        let k3 = (e - x - 1.0) * rho;
        loss += p.beta * k3;
        kl += k3;
        g += p.beta * (1.0 - e) * rho;
        if (p.klCorrection != 0.0) {
          if (perToken) { g += p.beta * k3; } else { dLogw += p.beta * k3; }
        }
      }
      dLogprobs[k] = w * g;
    }
    if (rloo) {
      loss = row.pg;
      dLogw = row.dpg;
    }
    if (!perToken) {
      // ∂logw/∂logprobs_k: m_k/max(n, 1) ('sequence'), m_k ('sequence_sum').
      let dRow = w * dLogw * select(1.0, 1.0 / max(n, 1.0), p.level == SEQUENCE);
      for (var t = 0u; t < T; t++) {
        let k = base + t;
        if (masked(mask[k])) { dLogprobs[k] += dRow; }
      }
    }
    let rowStats = !perToken && p.tokenLevel == 0u;
    if (rowStats) {
      low = row.low;
      high = row.high;
      lowMin = min(lowMin, low);
      highMax = max(highMax, high);
    } else if (n > 0.0) {
      lowMin = min(lowMin, low / n);
      highMax = max(highMax, high / n);
    }
    acc0 += vec4<f32>(n, w * loss, kl, 0.0);
    // low and high never meet (A < 0 against A > 0): region is their sum.
    acc1 += vec4<f32>(low, high, low + high, 0.0);
  }
  let s0 = workgroupSum4(0u, li, acc0);
  let s1 = workgroupSum4(1u, li, acc1);
  let lowMinAll = workgroupMin(2u, li, lowMin);
  let highMaxAll = workgroupMax(3u, li, highMax);
  let invN = 1.0 / max(s0.x, 1.0);
  let bnpo = p.lossType == BNPO;
  if (bnpo) {
    for (var r = li; r < p.R; r += WG) {
      for (var k = r * T; k < r * T + T; k++) { dLogprobs[k] *= invN; }
    }
  }
  if (li == 0u) {
    let clipScale = select(1.0 / f32(p.R), invN, perToken || p.tokenLevel != 0u);
    stats[0] = s0.y * select(1.0, invN, bnpo);
    stats[1] = s0.z * invN;
    stats[3] = s1.x * clipScale;
    stats[4] = s1.y * clipScale;
    stats[5] = s1.z * clipScale;
    stats[6] = select(lowMinAll, 0.0, lowMinAll > 1.0);
    stats[7] = select(highMaxAll, 0.0, highMaxAll < 0.0);
  }
}

// stats[2]: the masked mean of `entropies`.
@compute @workgroup_size(WG)
fn grpo_loss__entropy(@builtin(local_invocation_index) li: u32) {
  var acc = vec2<f32>(0.0); // Σm, Σm·entropy
  for (var k = li; k < p.R * p.T; k += WG) {
    if (masked(mask[k])) { acc += vec2<f32>(1.0, entropies[k]); }
  }
  let s = workgroupSum2(0u, li, acc);
  if (li == 0u) { stats[2] = s.y / max(s.x, 1.0); }
}
