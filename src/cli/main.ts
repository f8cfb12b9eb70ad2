import { setPlatform } from '../runtime/platform.js';
import { nodePlatform } from '../runtime/platform_node.js';
import { WebRLHFError } from '../errors.js';
import { demoCommand } from './demo.js';
import { generateCommand } from './generate.js';
import { gradCommand } from './grad.js';
import { mergeCommand } from './merge.js';
import { infoCommand } from './info.js';
import { rlmecCommand } from './rlmec.js';
import { rlpCommand } from './rlp.js';
import { trainCommand } from './train.js';

setPlatform(nodePlatform);

const COMMANDS: Record<string, { summary: string; run(argv: string[]): Promise<number> }> = {
  demo: { summary: 'the main job: RLP and RLMEC on built-in tasks, both tables and report.html (about 6 min on 2 CPU cores; --full: 3 seeds)', run: demoCommand },
  info: { summary: 'runtime, backends, GPU adapter (limits, features) and what backend "auto" picks', run: infoCommand },
  generate: { summary: 'continue prompts with a model folder (batched, KV cache, temperature/top-k/top-p, seeded)', run: generateCommand },
  sft: { summary: 'supervised fine-tuning on {prompt, completion} JSONL; writes a run folder (--config FILE, --help for keys)', run: trainCommand('sft') },
  reward: { summary: 'train a Bradley–Terry reward model on {prompt, chosen, rejected} JSONL', run: trainCommand('reward') },
  dpo: { summary: 'DPO on {prompt, chosen, rejected} JSONL against a frozen reference', run: trainCommand('dpo') },
  ppo: { summary: 'PPO on {prompt} JSONL with a reward model (TRL keys; presets trl, alpacafarm)', run: trainCommand('ppo') },
  grpo: { summary: 'GRPO on {prompt} JSONL with reward functions: built-ins, your ./rewards.mjs, or a reward model (TRL keys)', run: trainCommand('grpo') },
  rloo: { summary: 'RLOO on {prompt} JSONL with reward functions (leave-one-out baseline; TRL keys)', run: trainCommand('rloo') },
  rlmec: { summary: 'RLMEC (GRM, minimum-edit rewrites, token rewards) with SFT/RFT/DPO/PPO/RLOO/GRPO baselines; built-in task by default (--seeds N: table)', run: rlmecCommand },
  rlp: { summary: 'RLP (reward learning on policy: UML and SPG) with SFT, best-of-n and PPO; built-in task by default (--seeds N: table)', run: rlpCommand },
  merge: { summary: 'merge a LoRA adapter into its base model and write a full model folder', run: mergeCommand },
  grad: { summary: 'one forward/backward of a model folder on a batch; writes loss, logits and every gradient (safetensors)', run: gradCommand },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `Usage: webrlhf <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun webrlhf <command> --help for a command's options.`;
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 1;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`webrlhf: unknown command '${name}'.\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof WebRLHFError) {
      console.error(`webrlhf ${name}: ${e.name}: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
