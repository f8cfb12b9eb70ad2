// deno run -A examples/deno/rlmec.ts [auto|webgpu|wasm] — a whole research pipeline through
// the library: RLMEC (SFT → GRM → RLMEC, docs/RLMEC.md) on the built-in arithmetic task,
// shrunk to seconds. Step events arrive as they happen (a UI would chart them), an
// AbortSignal bounds the run, and the run folder holds every stage's metrics and model.
import {
  builtinArithmeticSource, createRuntime, rlmecRunConfig, runRLMECExperiment, type StageStepEvent,
} from 'webrlhf';

const rt = await createRuntime({ backend: (Deno.args[0] ?? 'auto') as 'auto' | 'webgpu' | 'wasm' });
const output = await Deno.makeTempDir({ prefix: 'webrlhf-rlmec-' });
// `webrlhf rlmec` keys (docs/CONFIG.md), shrunk so the run takes seconds: far too small for
// RLMEC to gain (its measured gain needs the defaults, as `webrlhf demo` runs them).
const config = rlmecRunConfig({
  output_dir: output, baselines: false, task_difficulty: 1, n_embd: 32, n_layer: 1, n_head: 2, n_positions: 320,
  sft_max_steps: 300, sft_learning_rate: 1e-2, task_sft_problems: 512, task_rl_problems: 48, task_test_problems: 32,
  num_samples: 3, max_new_tokens: 24, grm_max_steps: 60, max_steps: 20, tokens_html_samples: 4,
});
const steps: Record<string, number> = {};
const result = await runRLMECExperiment(rt.backend, config, builtinArithmeticSource(rt.backend, config), {
  output,
  signal: AbortSignal.timeout(10 * 60 * 1000), // a run that takes longer stops with a TimeoutError
  log: (line) => console.log(line),
  onStep: (e: StageStepEvent) => {
    steps[e.stage] = e.step;
  },
});
console.log(result.text);
console.log(`steps per stage: ${Object.entries(steps).map(([stage, n]) => `${stage} ${n}`).join(', ')}`);
const files = ['results.json', 'seed-42/tokens.html', 'seed-42/rlmec/final/model.safetensors', 'seed-42/rlmec/metrics.jsonl'];
for (const f of files) console.log(`${f}: ${(await Deno.stat(`${output}/${f}`)).size} bytes`);
await Deno.remove(output, { recursive: true });
rt.dispose();
