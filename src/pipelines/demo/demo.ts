// `webrlhf demo` as a library call: both research pipelines on their built-in tasks — RLP
// (SFT → reward model → PPO → RLP-UML and RLP-SPG) and RLMEC (SFT → GRM → RLMEC) — each in
// its own run folder, then report.html with their tables, curves, samples and token rewards.
import type { Backend } from '../../backend/backend.js';
import { ConfigError } from '../../errors.js';
import type { PeftKeys } from '../../training/config/peft.js';
import { formatDuration } from '../../training/progress.js';
import { resolveRunStorage, subRunStorage, type RunStorage } from '../../training/run/run_storage.js';
import { runRLMECExperiment, type RLMECExperimentResult } from '../rlmec/pipeline.js';
import { rlmecRunConfig, type RLMECRunConfig } from '../rlmec/run_config.js';
import { builtinArithmeticSource } from '../rlmec/source.js';
import { runRLPExperiment, type RLPExperimentResult } from '../rlp/pipeline.js';
import { rlpRunConfig, type RLPRunConfig } from '../rlp/run_config.js';
import { builtinInstructionSource } from '../rlp/source.js';
import { writeText, type ExperimentHooks } from '../stage.js';
import { demoReport, type DemoReportInput } from './report.js';
import { DEMO_PEFT, DEMO_RLP_SCALE, FULL_SEEDS, type DemoRunConfig } from './run_config.js';

export interface DemoHooks extends ExperimentHooks {
  /** The demo's folder (a path, a file: URL or a RunStorage): rlp/, rlmec/ and report.html. */
  output: string | URL | RunStorage;
}

/** Changes to each pipeline's settings (a run's folder, backend, seed and seeds stay the demo's). */
export interface DemoOverrides {
  rlp?: Partial<RLPRunConfig>;
  rlmec?: Partial<RLMECRunConfig>;
}

export interface DemoResult {
  rlp?: RLPExperimentResult;
  rlmec?: RLMECExperimentResult;
  /** Both tables as text, each under a heading. */
  text: string;
  seconds: number;
}

export async function runDemo(backend: Backend, config: DemoRunConfig, hooks: DemoHooks, overrides: DemoOverrides = {}): Promise<DemoResult> {
  const t0 = performance.now();
  const storage = resolveRunStorage(hooks.output);
  // Checked before any training: the pipelines would refuse too, but only after the first had run.
  const earlier = ((await storage.list('')) ?? []).filter((n) => ['rlp', 'rlmec', 'report.html'].includes(n)).sort();
  if (earlier.length) throw new ConfigError(`demo: ${storage.location} already holds a demo run (${earlier.join(', ')}); webrlhf never overwrites a run's files, so choose another output_dir (--output_dir DIR) or remove that one`);
  const seeds = config.full ? FULL_SEEDS : 1;
  const common = { backend: config.backend, seed: config.seed, seeds };
  // use_peft turns adapters on in both pipelines; the config files' LoRA keys win.
  const peft = config.use_peft ? DEMO_PEFT : {};
  const { output: _, ...stageHooks } = hooks; // each pipeline writes its own sub-folder
  // Each pipeline's config.json records where its folder is (as the pipeline's own command would).
  const folder = (name: string) => (typeof hooks.output === 'string' ? `${hooks.output.replace(/\/+$/, '')}/${name}` : name);
  // A path where there is one, so that the run's LoRA adapters name their base's folder by path.
  const output = (name: string, sub: RunStorage) => (typeof hooks.output === 'string' ? folder(name) : sub);
  const result: DemoResult = { text: '', seconds: 0 };
  const text: string[] = [];
  let rlp: DemoReportInput['rlp'];
  let rlmec: DemoReportInput['rlmec'];
  if (config.pipelines !== 'rlmec') {
    const c = rlpRunConfig({ ...peft, ...(config.full ? {} : DEMO_RLP_SCALE), ...overrides.rlp, ...common, output_dir: folder('rlp') });
    const rlpStorage = subRunStorage(storage, 'rlp');
    result.rlp = await runRLPExperiment(backend, c, builtinInstructionSource(backend, c), { ...stageHooks, output: output('rlp', rlpStorage) });
    rlp = { result: result.rlp, storage: rlpStorage, training: trainingNote(c) };
    text.push(`RLP on ${result.rlp.data}: ${seeds} seed(s); ${rlp.training}\n${result.rlp.text}`);
  }
  if (config.pipelines !== 'rlp') {
    // The demo shows SFT → GRM → RLMEC; the baselines' table is the full run's.
    const c = rlmecRunConfig({ baselines: config.full, ...peft, ...overrides.rlmec, ...common, output_dir: folder('rlmec') });
    const rlmecStorage = subRunStorage(storage, 'rlmec');
    result.rlmec = await runRLMECExperiment(backend, c, builtinArithmeticSource(backend, c), { ...stageHooks, output: output('rlmec', rlmecStorage) });
    rlmec = { result: result.rlmec, storage: rlmecStorage, training: trainingNote(c) };
    text.push(`RLMEC on ${result.rlmec.data}: ${seeds} seed(s); ${rlmec.training}\n${result.rlmec.text}`);
  }
  result.seconds = (performance.now() - t0) / 1000;
  result.text = text.join('\n\n');
  const html = await demoReport({
    title: 'webrlhf demo',
    notes: [`${config.full ? `Full run (${FULL_SEEDS} seeds)` : 'Demo scale (one seed)'} on the ${backend.kind} backend, ${formatDuration(result.seconds, 'minutes')}.`],
    seed: config.seed,
    rlp,
    rlmec,
  });
  await writeText(storage, 'report.html', html);
  return result;
}

/** How a pipeline's models after SFT trained, for the tables' headings and the report. */
export function trainingNote(c: PeftKeys): string {
  if (!c.use_peft) return 'full fine-tuning';
  const targets = c.lora_target_modules ?? "PEFT's default modules";
  return `LoRA adapters (r ${c.lora_r}, alpha ${c.lora_alpha}, ${targets}) on the frozen SFT policy, which trained in full`;
}
