// grpoLoss against TRL's own code: test/fixtures/trl-grpo/make_trl_loss_golden.py runs
// GRPOTrainer._compute_loss and RLOOTrainer._compute_loss from the trl package (1.13.0) with
// torch on random batches — every loss_type at token and sequence level, β with and without
// use_bias_correction_kl, delta, per-token advantages, gradient accumulation with
// steps_per_generation ≠ gradient_accumulation_steps — and records the loss, torch's gradient
// w.r.t. the per-token log-probs, and the metrics TRL logs. The op must give the same, on the
// leg's backend.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GRPO_STATS, grpoLoss, type GRPOLossOptions, type Tensor } from 'webrlhf';
import golden from './fixtures/trl-grpo/loss_golden.json';
import { assertClose } from './harness/reference.js';
import { legBackendInstance as backend } from './harness/runtime.js';

const test = suite('grpo loss vs TRL');

interface Case {
  case: { loss_type: GRPOLossOptions['lossType']; importance_sampling_level: GRPOLossOptions['importanceSamplingLevel']; beta?: number; use_bias_correction_kl?: boolean; epsilon_low: number; epsilon_high: number; delta?: number | null };
  token_advantages: boolean;
  B: number;
  T: number;
  accumulation_steps: number;
  steps_per_generation: number;
  num_items_in_batch: number;
  max_completion_length: number;
  mask: number[];
  logprobs: number[];
  old_logprobs: number[];
  ref_logprobs: number[];
  row_advantages: number[];
  token_advantages_values: number[];
  entropies: number[];
  loss: number;
  grad: number[];
  metrics: Record<string, number>;
}

test(`the loss, torch's gradient and the metrics of TRL ${golden.trl}'s compute_loss, case by case`, async () => {
  const be = await backend();
  for (const [n, g] of (golden.cases as Case[]).entries()) {
    const c = g.case;
    const what = `case ${n} (${c.loss_type}/${c.importance_sampling_level} β=${c.beta ?? 0}${c.use_bias_correction_kl ? '·ρ' : ''} δ=${c.delta ?? null}${g.token_advantages ? ' token A' : ''})`;
    const made: Tensor[] = [];
    const up = (v: number[]) => {
      const t = be.tensor(Float32Array.from(v));
      made.push(t);
      return t;
    };
    try {
      const beta = c.beta ?? 0;
      const i = {
        logprobs: up(g.logprobs), oldLogprobs: up(g.old_logprobs), refLogprobs: up(g.ref_logprobs), rowAdvantages: up(g.row_advantages),
        ...(g.token_advantages ? { tokenAdvantages: up(g.token_advantages_values) } : {}), mask: up(g.mask), entropies: up(g.entropies),
      };
      const out = { dLogprobs: be.zeros([g.B * g.T]), stats: be.zeros([GRPO_STATS.length]) };
      made.push(out.dLogprobs, out.stats);
      grpoLoss(i, out, {
        lossType: c.loss_type, importanceSamplingLevel: c.importance_sampling_level, epsilonLow: c.epsilon_low, epsilonHigh: c.epsilon_high, delta: c.delta ?? null,
        beta, klCorrection: c.use_bias_correction_kl === true, maxCompletionLength: g.max_completion_length, accumulationSteps: g.accumulation_steps,
        // TRL 1.13's dapo normaliser: num_items_in_batch × gradient_accumulation_steps / steps_per_generation.
        tokensInBatch: (g.num_items_in_batch * g.accumulation_steps) / g.steps_per_generation,
      });
      const [d, stats] = [Array.from(await be.read(out.dLogprobs)), Array.from(await be.read(out.stats))];
      assertClose([stats[0]!], [g.loss], { rtol: 1e-4, atol: 1e-6, what: `${what}: loss` });
      assertClose(d, g.grad, { rtol: 1e-4, atol: 1e-6, what: `${what}: dLogprobs vs torch's gradient` });
      const stat = (name: (typeof GRPO_STATS)[number]) => stats[GRPO_STATS.indexOf(name)]!;
      for (const [key, want] of Object.entries(g.metrics)) {
        if (!(GRPO_STATS as readonly string[]).includes(key)) continue;
        assertClose([stat(key as (typeof GRPO_STATS)[number])], [want], { rtol: 1e-4, atol: 1e-6, what: `${what}: metric ${key}` });
      }
      assert.is('kl' in g.metrics, beta !== 0, `${what}: TRL logs kl exactly when β ≠ 0`);
    } finally {
      for (const t of made) t.dispose();
    }
  }
});

test.run();
