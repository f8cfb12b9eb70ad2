// `webrlhf demo [--full] [--backend auto|webgpu|wasm] [--output_dir DIR]`: the main job. Both
// research pipelines on their built-in tasks with progress bars, their two tables, and
// report.html (curves, tables, samples, token rewards) to open in a browser.
import { runDemo } from '../pipelines/demo/demo.js';
import { DEMO_RUN_CONFIG } from '../pipelines/demo/run_config.js';
import { RLMEC_RUN_CONFIG } from '../pipelines/rlmec/run_config.js';
import { RLP_RUN_CONFIG } from '../pipelines/rlp/run_config.js';
import { createRuntime } from '../runtime/create_runtime.js';
import { describeConfig } from '../training/config/describe.js';
import { configFromFile } from '../training/config/file.js';
import type { ConfigSchema } from '../training/config/schema.js';
import { formatDuration } from '../training/progress.js';
import { commandConfig } from './command_config.js';
import { progressStream } from './progress_stream.js';

const HELP = `Usage: webrlhf demo [--full] [--pipelines both|rlp|rlmec] [--use_peft true] [--backend auto|webgpu|wasm] [--output_dir DIR]

Runs both research pipelines on their built-in tasks, with nothing downloaded:
- RLP (docs/RLP.md): SFT → Bradley–Terry reward model → PPO → RLP-UML and RLP-SPG, with
  win-rates against reference outputs and the reward models' accuracy against a gold annotator;
- RLMEC (docs/RLMEC.md): SFT → generative reward model (minimum-edit rewrites) → RLMEC,
  with test accuracy.
Prints both tables and writes output_dir/report.html: training curves (loss, reward, KL,
accuracy), the tables, sample outputs before and after, and RLMEC's token rewards. About
6 minutes on 2 CPU cores; --full runs 3 seeds of each, with RLMEC's baselines (about 23).

${describeConfig(DEMO_RUN_CONFIG as ConfigSchema<object>)}`;

export async function demoCommand(argv: string[]): Promise<number> {
  const config = await commandConfig(DEMO_RUN_CONFIG, argv, 'webrlhf demo', () => HELP);
  if (!config) return 0;
  const rt = await createRuntime({ backend: config.backend });
  try {
    const log = (line: string) => console.error(`webrlhf demo: ${line}`);
    log(`${config.full ? 'full run' : 'demo scale'}, ${config.pipelines === 'both' ? 'RLP and RLMEC' : config.pipelines.toUpperCase()}, on ${rt.backend.kind} (${rt.choice.reason}); writing ${config.output_dir}`);
    const overrides = {
      ...(config.rlp_config === null ? {} : { rlp: await configFromFile(RLP_RUN_CONFIG, config.rlp_config) }),
      ...(config.rlmec_config === null ? {} : { rlmec: await configFromFile(RLMEC_RUN_CONFIG, config.rlmec_config) }),
    };
    const result = await runDemo(rt.backend, config, { output: config.output_dir, log, progress: progressStream() }, overrides);
    console.log(result.text);
    console.log(`\n${formatDuration(result.seconds, 'minutes')} on ${rt.backend.kind}. Report: ${config.output_dir}/report.html (open it in a browser)`);
    return 0;
  } finally {
    rt.dispose();
  }
}
