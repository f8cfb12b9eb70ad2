// report.html of `webrlhf demo`: each pipeline's result tables, its training curves read back
// from the stages' metrics.jsonl, sample outputs before and after RL, and RLMEC's token-reward
// page, as one self-contained page (reportHtml).
import { barChartSvg, lineChartSvg, type ChartSeries } from '../../report/charts.js';
import { reportHtml, type ReportSample, type ReportSection, type ReportTable } from '../../report/report_html.js';
import { formatDuration } from '../../training/progress.js';
import type { RunStorage } from '../../training/run/run_storage.js';
import { oneDecimal, tableCells, type MethodSummary, type TableFormat } from '../comparison_table.js';
import { METHODS, type RLMECExperimentResult } from '../rlmec/pipeline.js';
import { RLP_POLICIES, type RLPExperimentResult } from '../rlp/pipeline.js';
import { readJsonl } from '../stage.js';

/** Samples shown per pipeline. */
const SAMPLES_SHOWN = 8;
/** Per-step metrics are noisy (one small batch each): the curves are drawn smoothed. */
const SMOOTHING = 0.9;

export interface DemoReportInput {
  title: string;
  notes: string[];
  /** The seed whose curves and samples are shown. */
  seed: number;
  /** Each pipeline's result, folder, and how its models trained (trainingNote: full fine-tuning or LoRA adapters). */
  rlp?: { result: RLPExperimentResult; storage: RunStorage; training?: string };
  rlmec?: { result: RLMECExperimentResult; storage: RunStorage; training?: string };
}

export async function demoReport(input: DemoReportInput): Promise<string> {
  const sections: ReportSection[] = [];
  if (input.rlp) sections.push(await rlpSection(input.rlp.result, subFolder(input.rlp.storage, input.seed), input.rlp.training));
  if (input.rlmec) sections.push(await rlmecSection(input.rlmec.result, subFolder(input.rlmec.storage, input.seed), input.rlmec.training));
  return reportHtml({ title: input.title, notes: input.notes, sections });
}

/** Reads files under seed-N of a pipeline's run folder. */
interface SeedFolder {
  seed: number;
  jsonl(path: string): Promise<Record<string, unknown>[]>;
  text(path: string): Promise<string | undefined>;
}

function subFolder(storage: RunStorage, seed: number): SeedFolder {
  const dir = `seed-${seed}`;
  return {
    seed,
    jsonl: async (path) => (await readJsonl<Record<string, unknown>>(storage, `${dir}/${path}`)) ?? [],
    async text(path) {
      const bytes = await storage.read(`${dir}/${path}`);
      return bytes && new TextDecoder().decode(bytes);
    },
  };
}

/** One metric of several stages, each a series named by its label. */
async function curves(folder: SeedFolder, metric: string, stages: readonly (readonly [stage: string, label: string])[]): Promise<ChartSeries[]> {
  const out: ChartSeries[] = [];
  for (const [stage, name] of stages) {
    const rows = await folder.jsonl(`${stage}/metrics.jsonl`);
    const points = rows.filter((r) => typeof r[metric] === 'number' && typeof r.step === 'number').map((r) => ({ x: r.step as number, y: r[metric] as number }));
    if (points.length) out.push({ name, points });
  }
  return out;
}

async function lineChart(folder: SeedFolder, title: string, metric: string, yLabel: string, stages: readonly (readonly [string, string])[]): Promise<string> {
  return lineChartSvg({ title, xLabel: 'step', yLabel, series: await curves(folder, metric, stages), smoothing: SMOOTHING });
}

function summaryTable(caption: string, rows: readonly MethodSummary[], seeds: readonly number[], o: TableFormat): ReportTable {
  const { head, body } = tableCells(rows, seeds, o);
  return { caption, columns: head, rows: body };
}

function summaryBars(title: string, yLabel: string, rows: readonly MethodSummary[], scale: number): string {
  return barChartSvg({
    title,
    yLabel,
    bars: rows.filter((r) => Number.isFinite(r.mean)).map((r) => ({ label: r.method, value: scale * r.mean, ...(r.values.length > 1 ? { error: scale * r.stderr } : {}) })),
  });
}


async function rlpSection(result: RLPExperimentResult, folder: SeedFolder, training: string | undefined): Promise<ReportSection> {
  const seeds = result.seeds.map((s) => s.seed);
  const ppoRuns = [['ppo', 'PPO (r_φ)'], ['ppo_uml', 'RLP-UML'], ['ppo_spg', 'RLP-SPG']] as const;
  const charts = [
    await lineChart(folder, 'SFT: loss', 'loss', 'loss', [['sft', 'SFT']]),
    await lineChart(folder, 'Reward models: training accuracy', 'accuracy', 'accuracy', [['reward', 'r_φ'], ['reward_uml', 'RLP-UML'], ['reward_spg', 'RLP-SPG']]),
    await lineChart(folder, 'PPO: reward', 'objective/scores', 'reward', ppoRuns),
    await lineChart(folder, 'PPO: KL to SFT', 'objective/kl', 'KL (nats)', ppoRuns),
    summaryBars('Win-rate against the references', 'win-rate, %', result.table, 1),
    summaryBars('Reward models: preference accuracy vs gold', 'accuracy, %', result.preferenceTable, 100),
  ];
  return {
    id: 'rlp',
    title: 'RLP: reward learning on policy',
    notes: [`${result.data}; ${seeds.length} seed(s), ${result.backend} backend, ${formatDuration(result.seconds, 'minutes')}. Curves and samples: seed ${folder.seed}.`, ...(training ? [`Training: ${training}.`] : [])],
    tables: [
      summaryTable('Win-rate against the reference outputs (draws count ½)', result.table, seeds, { metric: 'win-rate, %', format: oneDecimal }),
      summaryTable("Reward models' preference accuracy against the gold annotator, on pairs of PPO samples", result.preferenceTable, seeds, { metric: 'accuracy' }),
      summaryTable('Paired differences: the mean per-prompt difference of win-rates (results.json has each seed\'s bootstrap interval)', result.pairedTable, seeds, { metric: 'win-rate points', format: oneDecimal }),
      ...(result.ablationTable.length
        ? [
          summaryTable('SPG ablation: preference accuracy of each reward model', result.ablationTable.map((r) => r.preferenceAccuracy), seeds, { metric: 'accuracy' }),
          summaryTable('SPG ablation: win-rate of each PPO policy', result.ablationTable.map((r) => r.winRate), seeds, { metric: 'win-rate, %', format: oneDecimal }),
        ]
        : []),
    ],
    charts,
    samples: { title: 'Evaluation prompts: SFT and the RL policies (the first answer of each), judged against the reference', items: rlpSamples(await folder.jsonl('outputs.jsonl')) },
  };
}

/** Prompts where an RL policy answers differently from SFT first (that is where RL did something). */
function rlpSamples(rows: Record<string, unknown>[]): ReportSample[] {
  const verdicts = { 0: 'draw', 1: 'loss', 2: 'win' } as const;
  // Sampled evaluation lists each policy's answers (and codes); greedy gives one.
  const first = <T>(o: Record<string, T | T[]>): Record<string, T> => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Array.isArray(v) ? v[0]! : v]));
  const changed = (r: Record<string, unknown>) => {
    const o = first(r.outputs as Record<string, string | string[]>);
    return ['ppo', 'rlp_uml', 'rlp_spg'].some((k) => k in o && o[k] !== o.sft);
  };
  const ordered = [...rows.filter(changed), ...rows.filter((r) => !changed(r))].slice(0, SAMPLES_SHOWN);
  return ordered.map((r) => {
    const outputs = first(r.outputs as Record<string, string | string[]>);
    const codes = first(r.preference as Record<string, 0 | 1 | 2 | (0 | 1 | 2)[]>);
    return {
      prompt: String(r.prompt),
      reference: String(r.reference),
      outputs: RLP_POLICIES.filter((p) => p.key in outputs).map((p) => ({ label: p.label, text: outputs[p.key]!, verdict: verdicts[codes[p.key] ?? 0] })),
    };
  });
}

async function rlmecSection(result: RLMECExperimentResult, folder: SeedFolder, training: string | undefined): Promise<ReportSection> {
  const seeds = result.seeds.map((s) => s.seed);
  const charts = [
    await lineChart(folder, 'SFT: loss', 'loss', 'loss', [['sft', 'SFT']]),
    await lineChart(folder, 'GRM: loss', 'loss', 'loss', [['grm', 'GRM']]),
    lineChartSvg({
      title: 'RLMEC: loss',
      xLabel: 'step',
      yLabel: 'loss',
      series: [...(await curves(folder, 'loss', [['rlmec', 'total']])), ...(await curves(folder, 'rl_loss', [['rlmec', 'token-reward RL']])), ...(await curves(folder, 'imitation_loss', [['rlmec', 'imitation']]))],
      smoothing: SMOOTHING,
    }),
    summaryBars('Test accuracy', 'accuracy, %', result.table, 100),
  ];
  const tokens = await folder.text('tokens.html');
  return {
    id: 'rlmec',
    title: 'RLMEC: minimum-edit rewrites and token-level rewards',
    notes: [`${result.data}; ${seeds.length} seed(s), ${result.backend} backend, ${formatDuration(result.seconds, 'minutes')}. Curves and samples: seed ${folder.seed}.`, ...(training ? [`Training: ${training}.`] : [])],
    tables: [summaryTable('Test accuracy (greedy)', result.table, seeds, {})],
    charts,
    samples: { title: 'Test problems: the starting policy and the trained ones (greedy)', items: rlmecSamples(await folder.jsonl('outputs.jsonl')) },
    ...(tokens ? { embedded: { title: 'Token rewards: where the GRM puts the blame', html: tokens } } : {}),
  };
}

/** Problems RLMEC fixed first, then ones it broke, then the rest. */
function rlmecSamples(rows: Record<string, unknown>[]): ReportSample[] {
  const right = (r: Record<string, unknown>, k: string) => (r.correct as Record<string, boolean>)[k];
  const fixed = rows.filter((r) => !right(r, 'sft') && right(r, 'rlmec'));
  const broke = rows.filter((r) => right(r, 'sft') && !right(r, 'rlmec'));
  const rest = rows.filter((r) => !fixed.includes(r) && !broke.includes(r));
  const ordered = [...fixed.slice(0, SAMPLES_SHOWN - 2), ...broke.slice(0, 2), ...rest].slice(0, SAMPLES_SHOWN);
  return ordered.map((r) => {
    const outputs = r.outputs as Record<string, string>;
    return {
      prompt: String(r.question),
      reference: `answer: ${String(r.answer)}`,
      outputs: METHODS.filter((m) => m.key in outputs).map((m) => ({ label: m.label, text: outputs[m.key]!, verdict: right(r, m.key) ? 'right' : 'wrong' })),
    };
  });
}
