// `webrlhf rlp [--method uml|spg|both] [--config FILE] [--seeds N] [--key value ...]`: the
// RLP pipeline on the built-in instruction task, printing the win-rate and preference-accuracy
// tables and writing the run folder.
import { runRLPExperiment } from '../pipelines/rlp/pipeline.js';
import { RLP_RUN_CONFIG, RLP_STAGES } from '../pipelines/rlp/run_config.js';
import { builtinInstructionSource } from '../pipelines/rlp/source.js';
import { createRuntime } from '../runtime/create_runtime.js';
import { describeConfig } from '../training/config/describe.js';
import type { ConfigSchema } from '../training/config/schema.js';
import { formatDuration } from '../training/progress.js';
import { commandConfig } from './command_config.js';
import { progressStream } from './progress_stream.js';

const HELP = `Usage: webrlhf rlp [--method both|uml|spg] [--config FILE] [--seeds N] [--key value ...]

RLP, reward learning on policy (ALGORITHMS.md §4), on the built-in instruction task:
1. D: two samples of the SFT policy per preference prompt, labelled by the gold annotator
   with 25% of the labels replaced by a coin (AlpacaFarm's simulated annotator);
2. r_φ: a Bradley–Terry reward model on D;  3. PPO from SFT with r_φ;
4. n samples per unlabeled prompt from the PPO policy, then a reward model retrained from SFT:
   RLP-UML adds the multi-view information bottleneck on two samples of one prompt,
   RLP-SPG adds synthetic pairs from clustering the samples (confident prompts only);
5. PPO again from SFT with each RLP reward model.
The table gives each policy's win-rate against the task's reference outputs (best-of-n on
r_φ included), mean ± s.e. over the seeds, and each reward model's preference accuracy
against the gold annotator. Writes output_dir: config.json, results.json, and per seed a
folder per stage (${RLP_STAGES.join(', ')}) and outputs.jsonl;
--rerun STAGE[,STAGE] runs those stages again and loads the others from output_dir.

${describeConfig(RLP_RUN_CONFIG as ConfigSchema<object>)}`;

export async function rlpCommand(argv: string[]): Promise<number> {
  const config = await commandConfig(RLP_RUN_CONFIG, argv, 'webrlhf rlp', () => HELP);
  if (!config) return 0;
  const rt = await createRuntime({ backend: config.backend });
  try {
    const log = (line: string) => console.error(`webrlhf rlp: ${line}`);
    log(`${config.seeds} seed(s), method ${config.method}, on ${rt.backend.kind}; writing ${config.output_dir}`);
    const result = await runRLPExperiment(rt.backend, config, builtinInstructionSource(rt.backend, config), { output: config.output_dir, log, progress: progressStream() });
    const minutes = formatDuration(result.seconds, 'minutes');
    console.log(`RLP on ${result.data}: over ${config.seeds} seed(s), ${result.backend} backend, ${minutes}`);
    console.log(result.text);
    console.log(`results: ${config.output_dir}/results.json; outputs: ${config.output_dir}/seed-${config.seed}/outputs.jsonl`);
    return 0;
  } finally {
    rt.dispose();
  }
}
