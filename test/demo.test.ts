// `webrlhf demo` end to end, shrunk to seconds through its rlp_config/rlmec_config files:
// both tables printed, each pipeline's run folder, and report.html opened in headless
// Chromium, where every chart must have drawn real data, the tables must hold numbers and the
// token-reward page must be embedded. A screenshot is saved to build/test/demo-report.png.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rlpRunConfig } from 'webrlhf';
import { main } from '../src/cli/main.js';
import { quiet } from './harness/console.js';
import { legBackend } from './harness/runtime.js';

const test = suite('cli demo');

let root = '';
const path = (...p: string[]) => join(root, ...p);

/** Both pipelines shrunk to seconds: tiny models, a few prompts and problems, a few steps per stage. */
const TINY_RLP = {
  n_embd: 32, n_layer: 1, n_head: 2, n_positions: 80, sft_max_steps: 40, sft_learning_rate: 1e-2, max_new_tokens: 12,
  task_sft_prompts: 200, task_preference_prompts: 24, task_unlabeled_prompts: 8, task_eval_prompts: 8,
  reward_num_train_epochs: 1, reward_batch_size: 4, ppo_total_episodes: 16, ppo_batch_size: 8, best_of_n: 2, rlp_num_samples: 4, spg_gamma: 0, generation_batch_size: 64,
};
const TINY_RLMEC = {
  n_embd: 32, n_layer: 1, n_head: 2, n_positions: 320, sft_max_steps: 150, sft_learning_rate: 1e-2, task_difficulty: 1,
  task_sft_problems: 256, task_rl_problems: 12, task_test_problems: 6, num_samples: 3, max_new_tokens: 24,
  grm_max_steps: 4, max_steps: 3, ppo_batch_size: 6, tokens_html_samples: 4,
};

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'webrlhf-demo-'));
  await writeFile(path('rlp.json'), JSON.stringify(TINY_RLP));
  await writeFile(path('rlmec.json'), JSON.stringify(TINY_RLMEC));
});

test.after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('webrlhf demo runs RLP and RLMEC, prints both tables and writes a report.html whose charts render in Chromium', async () => {
  const out = path('demo');
  const r = await quiet(() => main(['demo', '--rlp_config', path('rlp.json'), '--rlmec_config', path('rlmec.json'), '--output_dir', out, '--backend', legBackend()]));
  assert.is(r.result, 0, r.err);
  for (const row of ['SFT', 'best-of-n (r_φ)', 'PPO', 'RLP-UML', 'RLP-SPG', 'r_φ (D)', 'SFT (start)', 'RLMEC']) assert.ok(r.out.includes(row), `table row ${row}`);
  assert.match(r.out, /report\.html/);
  // RLP's tables use the evaluation protocol (sampled answers, paired differences); the demo scale has no SPG ablation.
  assert.ok(r.out.includes(`win-rate vs reference, % (${rlpRunConfig({}).eval_samples_per_prompt} sample(s) per prompt at T = 1)`), 'sampled answers at the default count');
  assert.match(r.out, /^PPO − SFT\s+[+−]\d+\.\d \[/m);
  assert.not.match(r.out, /SPG ablation/);
  for (const f of ['rlp/results.json', 'rlp/seed-42/outputs.jsonl', 'rlmec/results.json', 'rlmec/seed-42/outputs.jsonl', 'rlmec/seed-42/tokens.html', 'report.html']) {
    assert.ok(existsSync(join(out, f)), `${f} is written`);
  }
  // The demo scale of RLMEC has no baselines: the table is SFT (start) and RLMEC only.
  const rlmec = JSON.parse(await readFile(join(out, 'rlmec/results.json'), 'utf8'));
  assert.equal(rlmec.table.map((m: { method: string }) => m.method), ['SFT (start)', 'RLMEC']);

  const html = await readFile(join(out, 'report.html'), 'utf8');
  assert.not.match(html, /<script/i, 'the report runs no script');
  const page = await renderInChromium(join(out, 'report.html'));
  assert.ok(page.lineCharts >= 7, `line charts: ${page.lineCharts}`);
  assert.ok(page.barCharts >= 3, `bar charts: ${page.barCharts}`);
  assert.equal(page.emptyLineCharts, [], 'every line chart drew at least one series of 2+ points with a visible extent');
  assert.equal(page.emptyBarCharts, [], 'every bar chart drew bars');
  assert.ok(page.numericCells >= 10, `table cells with numbers: ${page.numericCells}`);
  assert.ok(page.samples >= 8, `sample outputs shown: ${page.samples}`);
  assert.ok(page.embeddedTokens > 0, 'the token-reward page is embedded with its tokens');

  // The same folder again: refused before any training, and nothing there is touched.
  const again = await quiet(() => main(['demo', '--rlp_config', path('rlp.json'), '--output_dir', out, '--backend', legBackend()]));
  assert.is(again.result, 1);
  assert.match(again.err, /already holds a demo run \(report\.html, rlmec, rlp\).*--output_dir/);
  assert.is(await readFile(join(out, 'report.html'), 'utf8'), html);
});

test('webrlhf demo --use_peft true: both pipelines train LoRA adapters on their SFT policies, and the tables and report say so', async () => {
  const out = path('peft');
  const r = await quiet(() => main(['demo', '--use_peft', 'true', '--rlp_config', path('rlp.json'), '--rlmec_config', path('rlmec.json'), '--output_dir', out, '--backend', legBackend()]));
  assert.is(r.result, 0, r.err);
  assert.is(r.out.match(/seed\(s\); LoRA adapters \(r 16, alpha 32, all-linear\) on the frozen SFT policy/g)?.length, 2, r.out);
  for (const [pipeline, stages] of [['rlp', ['reward', 'ppo', 'reward_uml', 'ppo_uml', 'reward_spg', 'ppo_spg']], ['rlmec', ['grm', 'rlmec']]] as const) {
    const base = join(out, pipeline, 'seed-42', 'sft', 'final');
    assert.ok(existsSync(join(base, 'model.safetensors')), `${pipeline}: SFT trains in full`);
    for (const stage of stages) {
      const folder = join(out, pipeline, 'seed-42', stage, 'final');
      assert.not.ok(existsSync(join(folder, 'model.safetensors')), `${pipeline}/${stage}: no copy of the weights`);
      assert.is(JSON.parse(await readFile(join(folder, 'adapter_config.json'), 'utf8')).base_model_name_or_path, base, `${pipeline}/${stage} names its base`);
    }
  }
  const html = await readFile(join(out, 'report.html'), 'utf8');
  assert.is(html.match(/Training: LoRA adapters/g)?.length, 2, 'each section says how its models trained');
});

interface RenderedReport {
  lineCharts: number;
  barCharts: number;
  emptyLineCharts: string[];
  emptyBarCharts: string[];
  numericCells: number;
  samples: number;
  embeddedTokens: number;
}

/** Opens the page from disk in headless Chromium, measures what was drawn and saves a screenshot. */
async function renderInChromium(file: string): Promise<RenderedReport> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(pathToFileURL(file).href);
    const shots = join(process.cwd(), 'build/test');
    await mkdir(shots, { recursive: true });
    await page.screenshot({ path: join(shots, 'demo-report.png'), fullPage: true });
    const frame = page.frames().find((f) => f !== page.mainFrame());
    const embeddedTokens = frame ? await frame.locator('.tok').count() : 0;
    const measured = await page.evaluate(() => {
      const title = (svg: Element) => svg.getAttribute('aria-label') ?? svg.querySelector('title')?.textContent ?? '?';
      const line = Array.from(document.querySelectorAll('svg.line-chart'));
      const bar = Array.from(document.querySelectorAll('svg.bar-chart'));
      const drawn = (svg: Element) =>
        Array.from(svg.querySelectorAll('polyline.series')).some((p) => {
          const box = (p as SVGGraphicsElement).getBBox();
          return (p as SVGPolylineElement).points.numberOfItems >= 2 && box.width > 0;
        });
      // A tiny run may win nothing (all values 0, no height): then the bars must still be there with their values.
      const barsDrawn = (svg: Element) => {
        const bars = Array.from(svg.querySelectorAll('rect.bar'));
        const values = bars.map((r) => Number(r.getAttribute('data-value')));
        const tall = bars.some((r) => (r as SVGGraphicsElement).getBBox().height > 0);
        return bars.length >= 2 && values.every(Number.isFinite) && (tall || values.every((v) => v === 0));
      };
      return {
        lineCharts: line.length,
        barCharts: bar.length,
        emptyLineCharts: line.filter((s) => !drawn(s)).map(title),
        emptyBarCharts: bar.filter((s) => !barsDrawn(s)).map(title),
        numericCells: Array.from(document.querySelectorAll('table.results td')).filter((td) => /\d/.test(td.textContent ?? '')).length,
        samples: document.querySelectorAll('.sample').length,
      };
    });
    return { ...measured, embeddedTokens };
  } finally {
    await browser.close();
  }
}

test.run();
