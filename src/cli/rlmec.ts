// `webrlhf rlmec [--config FILE] [--seeds N] [--key value ...]`: the RLMEC pipeline and its
// baselines on the built-in arithmetic task (no file needed) or on the user's problems,
// printing the test-accuracy table and writing the run folder.
import { referenceTeacher, rewritesTeacher } from '../algorithms/rlmec/teacher.js';
import type { Backend } from '../backend/backend.js';
import { describeSkipped, loadProblemDataset, loadRewriteDataset } from '../data/datasets.js';
import type { ProblemRecord } from '../data/records.js';
import { ConfigError } from '../errors.js';
import { loadModel } from '../io/pretrained_model.js';
import { runRLMECExperiment } from '../pipelines/rlmec/pipeline.js';
import { RLMEC_RUN_CONFIG, type RLMECRunConfig } from '../pipelines/rlmec/run_config.js';
import { builtinArithmeticSource, type RLMECSource } from '../pipelines/rlmec/source.js';
import { createRuntime } from '../runtime/create_runtime.js';
import { loadTokenizer } from '../text/tokenizer_files.js';
import { describeConfig } from '../training/config/describe.js';
import type { ConfigSchema } from '../training/config/schema.js';
import { formatDuration } from '../training/progress.js';
import { commandConfig } from './command_config.js';
import { progressStream } from './progress_stream.js';

const HELP = `Usage: webrlhf rlmec [--config FILE] [--seeds N] [--key value ...]

RLMEC (ALGORITHMS.md §5): the policy samples solutions; a teacher's minimum-edit rewrites
of the wrong ones train a generative reward model (GRM); the GRM rewrites the samples and
scores every token; the policy trains on those token-level rewards plus imitation of the
rewrites. SFT (start and on the RL problems), RFT, DPO, PPO, RLOO and GRPO (correctness
reward) and GRPO + GRM token rewards train from the same start on the same problems and
budget; the table gives each one's test accuracy, mean ± standard error over the seeds.

With no file it runs the built-in arithmetic task: a small GPT-2 is trained by SFT first.
With train_file/eval_file ({question, solution, answer} JSONL) it starts from
model_name_or_path. Writes output_dir: config.json, results.json, and per seed
samples.jsonl, tokens.html (solutions coloured by token reward) and a run folder per stage.

${describeConfig(RLMEC_RUN_CONFIG as ConfigSchema<object>)}`;

export async function rlmecCommand(argv: string[]): Promise<number> {
  const config = await commandConfig(RLMEC_RUN_CONFIG, argv, 'webrlhf rlmec', () => HELP);
  if (!config) return 0;
  if (config.resume_from_checkpoint !== false) throw new ConfigError('webrlhf rlmec: --resume is not supported (each stage is short); start again in a new output_dir');
  const rt = await createRuntime({ backend: config.backend });
  try {
    const source = config.train_file === null ? builtinArithmeticSource(rt.backend, config) : await userSource(rt.backend, config);
    const log = (line: string) => console.error(`webrlhf rlmec: ${line}`);
    log(`${config.seeds} seed(s) on ${rt.backend.kind}; writing ${config.output_dir}`);
    const result = await runRLMECExperiment(rt.backend, config, source, { output: config.output_dir, log, progress: progressStream() });
    const minutes = formatDuration(result.seconds, 'minutes');
    console.log(`RLMEC on ${result.data}: test accuracy over ${config.seeds} seed(s), ${result.backend} backend, ${minutes}`);
    console.log(result.text);
    console.log(`results: ${config.output_dir}/results.json; token rewards: ${config.output_dir}/seed-${config.seed}/tokens.html`);
    return 0;
  } finally {
    rt.dispose();
  }
}

/** The user's problems, test problems, starting policy (and GRM), and teacher. */
async function userSource(backend: Backend, c: RLMECRunConfig): Promise<RLMECSource> {
  const load = async (file: string) => {
    const ds = await loadProblemDataset(file, { skip_bad_lines: c.skip_bad_lines });
    const skipped = describeSkipped(ds);
    if (skipped) console.error(`webrlhf rlmec: ${skipped}`);
    return ds.records;
  };
  const problems: ProblemRecord[] = await load(c.train_file!);
  const test: ProblemRecord[] = await load(c.eval_file!);
  const tokenizer = await loadTokenizer(c.model_name_or_path!).catch((e: Error) => {
    throw new ConfigError(`model_name_or_path: ${c.model_name_or_path} has no usable tokenizer (tokenizer.json, or vocab.json + merges.txt): ${e.message}`);
  });
  const teacher = c.rewrites_file === null ? referenceTeacher() : rewritesTeacher((await loadRewriteDataset(c.rewrites_file, { skip_bad_lines: c.skip_bad_lines })).records, c.rewrites_file);
  return {
    name: c.train_file!,
    tokenizer,
    data: () => ({ problems, test, teacher }),
    startPolicy: () => loadModel(backend, c.model_name_or_path!),
    ...(c.grm_model_name_or_path === null ? {} : { grm: () => loadModel(backend, c.grm_model_name_or_path!) }),
  };
}
