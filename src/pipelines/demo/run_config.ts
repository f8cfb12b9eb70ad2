// The settings of `webrlhf demo`: which pipelines run, where, on which backend, and at which
// scale. The demo scale is each pipeline's own defaults for one seed (RLMEC without its
// baselines, RLP on 500 evaluation prompts without its SPG ablation), so it finishes in
// minutes on a laptop CPU; `full` runs the 3-seed tables of docs/RLP.md and docs/RLMEC.md.
import type { RLPRunConfig } from '../rlp/run_config.js';
import { booleanKey, enumKey, integerKey, resolveConfig, stringKey, type ConfigSchema } from '../../training/config/schema.js';

export const DEMO_PIPELINES = ['both', 'rlp', 'rlmec'] as const;
export type DemoPipelines = (typeof DEMO_PIPELINES)[number];

export interface DemoRunConfig {
  output_dir: string;
  backend: 'auto' | 'webgpu' | 'wasm';
  seed: number;
  full: boolean;
  pipelines: DemoPipelines;
  rlp_config: string | null;
  rlmec_config: string | null;
  use_peft: boolean;
}

/**
 * The LoRA keys the demo (and the browser page) sets with use_peft: the pipelines' config
 * files may change them. all-linear, not PEFT's attention-only default, suits models this small.
 */
export const DEMO_PEFT = { use_peft: true, lora_target_modules: 'all-linear' } as const;

/**
 * The demo scale's changes to RLP's defaults, which are the headline table's: a quarter of the
 * evaluation prompts and no SPG ablation rows (three more reward models and PPO runs), so the
 * demo stays minutes long; `full` runs the defaults.
 */
export const DEMO_RLP_SCALE = { task_eval_prompts: 500, spg_ablation: [] } as const satisfies Partial<RLPRunConfig>;

/** Seeds of a `full` run: the tables of the RLP and RLMEC issues. */
export const FULL_SEEDS = 3;

export const DEMO_RUN_CONFIG: ConfigSchema<DemoRunConfig> = {
  name: 'demo',
  keys: {
    output_dir: stringKey('runs/demo', 'Where the demo writes report.html, and each pipeline its run folder (rlp/, rlmec/).'),
    backend: enumKey(['auto', 'webgpu', 'wasm'] as const, 'auto', 'Where the math runs: WebGPU, WebAssembly, or auto (WebGPU when a GPU is usable).'),
    seed: integerKey(42, 'Seed of every random choice; a full run uses seed, seed+1, seed+2.', { min: 0 }),
    full: booleanKey(false, `The larger settings: ${FULL_SEEDS} seeds of each pipeline and RLMEC's baselines (about 23 minutes on 2 CPU cores, against about 5 for the demo).`),
    pipelines: enumKey(DEMO_PIPELINES, 'both', 'Which research pipelines run: RLP (SFT → reward model → PPO → RLP-UML and RLP-SPG), RLMEC (SFT → GRM → RLMEC), or both.'),
    rlp_config: stringKey(null, 'A JSON file of `webrlhf rlp` keys that change the RLP run (its output_dir, backend, seed and seeds are the demo\'s); null: its defaults.', { nullable: true }),
    rlmec_config: stringKey(null, 'The same for the RLMEC run (`webrlhf rlmec` keys); null: its defaults.', { nullable: true }),
    use_peft: booleanKey(false, 'Train LoRA adapters on each pipeline\'s frozen SFT policy instead of whole models (lora_target_modules all-linear unless rlp_config/rlmec_config set it; lora_r and the other LoRA keys there too). The SFT policy itself, trained from scratch, is trained in full.'),
  },
};

/** The full demo config from options (unset keys take their defaults); throws ConfigError naming a bad key. */
export function demoRunConfig(options: Partial<DemoRunConfig> = {}): DemoRunConfig {
  return resolveConfig(DEMO_RUN_CONFIG, options, 'demo options');
}
