// examples/browser end to end in headless Chromium (playwright-core driving Debian's
// chromium), served the way `npm run serve` serves it. The page runs RLMEC (tiny preset) in
// its Web Worker to the end; the test reads back what was drawn: every curve, the accuracy
// table, the samples, the token rewards, and the downloads (the model is parsed as
// safetensors). It also runs GRPO with the page's reward function, and a broken one.
// Screenshots go to build/test/browser-example-*.png.
// Run by the examples leg of `npm test` (test/run.mjs), or alone: node test/examples/browser.test.mjs
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { root } from '../../scripts/build_lib.mjs';
import { serveStatic } from '../../scripts/static_server.mjs';

const test = suite('examples/browser');
/** Swiftshader through Vulkan: WebGPU with no GPU (ENVIRONMENT.md). Without these flags headless Chromium has no adapter. */
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-webgpu-adapter=swiftshader'];
const RUN_TIMEOUT_MS = 8 * 60 * 1000;
const shots = join(root, 'build/test');
let server;

test.before(async () => {
  server = await serveStatic(root);
  await mkdir(shots, { recursive: true });
});
test.after(() => server?.close());

/** Opens the example with URL parameters in a fresh Chromium; `fn(page)` runs before it closes. */
async function withPage(query, { webgpu }, fn) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', ...(webgpu ? WEBGPU_FLAGS : [])],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${server.address().port}/examples/browser/?${query}`);
    await fn(page);
    assert.equal(errors, [], 'no uncaught errors on the page');
  } finally {
    await browser.close();
  }
}

/** Waits until the run ends; returns its state and status line. */
async function runEnds(page) {
  await page.waitForFunction(() => ['done', 'stopped', 'error'].includes(document.body.dataset.state), undefined, { timeout: RUN_TIMEOUT_MS, polling: 250 });
  return page.evaluate(() => ({ state: document.body.dataset.state, backend: document.body.dataset.backend, status: document.getElementById('status').textContent, runtime: document.getElementById('runtime').textContent }));
}

/** What the finished page shows, read back from the DOM. */
function readPage(page) {
  return page.evaluate(async () => {
    const charts = Array.from(document.querySelectorAll('#charts figure')).map((f) => {
      const lines = Array.from(f.querySelectorAll('polyline.series'));
      const drawn = lines.some((p) => p.points.numberOfItems >= 2 && p.getBBox().width > 0 && p.getBBox().height > 0);
      return { stage: f.dataset.stage, drawn };
    });
    const cells = Array.from(document.querySelectorAll('#results tbody tr')).map((tr) => Array.from(tr.cells).map((td) => td.textContent));
    const links = Array.from(document.querySelectorAll('#downloads a')).map((a) => ({ name: a.download, path: a.dataset.path, href: a.href }));
    // The downloads are blob: URLs; read the model back and parse its safetensors header.
    const model = links.find((l) => l.name === 'model.safetensors');
    let tensors = [];
    if (model) {
      const bytes = new Uint8Array(await (await fetch(model.href)).arrayBuffer());
      const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
      tensors = Object.keys(header).filter((k) => k !== '__metadata__');
    }
    const metrics = links.find((l) => l.name === 'metrics.jsonl' && l.path.includes('/rlmec/'));
    const metricLines = metrics ? (await (await fetch(metrics.href)).text()).trim().split('\n').map((l) => JSON.parse(l)) : [];
    return { charts, cells, samples: document.querySelectorAll('#samples .sample').length, links: links.map((l) => l.name), tensors, metricLines };
  });
}

test('on WebGPU: the page runs RLMEC in its worker to the end and shows curves, accuracy, samples, token rewards and downloads', async () => {
  await withPage('backend=webgpu&preset=tiny&autostart=1', { webgpu: true }, async (page) => {
    const end = await runEnds(page);
    assert.is(end.state, 'done', end.status);
    assert.is(end.backend, 'webgpu');
    assert.match(end.runtime, /webgpu backend/);
    const shown = await readPage(page);
    assert.equal(shown.charts.map((c) => c.stage), ['sft', 'grm', 'rlmec']);
    assert.equal(shown.charts.filter((c) => !c.drawn), [], 'every stage drew a curve of 2+ points');
    assert.equal(shown.cells.map((r) => r[0]), ['SFT (start)', 'RLMEC']);
    for (const [, accuracy, correct] of shown.cells) {
      assert.match(accuracy, /^\d+\.\d%$/);
      assert.match(correct, /^\d+ \/ 6$/);
    }
    assert.ok(shown.samples >= 1, 'samples before and after');
    const frame = page.frames().find((f) => f !== page.mainFrame());
    assert.ok(frame && (await frame.locator('.tok').count()) > 0, 'the token-reward view shows tokens');
    for (const name of ['model.safetensors', 'config.json', 'tokenizer.json', 'metrics.jsonl', 'results.json', 'report.html']) assert.ok(shown.links.includes(name), `download ${name}`);
    assert.ok(shown.tensors.includes('wte.weight') && shown.tensors.includes('h.0.attn.c_attn.weight'), `GPT-2 tensors in model.safetensors: ${shown.tensors.slice(0, 4)}`);
    assert.equal(shown.metricLines.map((m) => m.step), [1, 2, 3], 'RLMEC metrics.jsonl holds every step');
    assert.ok(shown.metricLines.every((m) => Number.isFinite(m.loss) && Number.isFinite(m.imitation_loss)));
    await page.screenshot({ path: join(shots, 'browser-example-webgpu.png'), fullPage: true });
    // Headless Chromium leaves an iframe below the fold blank in a full-page shot: the token view gets its own.
    await page.locator('#tokens').screenshot({ path: join(shots, 'browser-example-tokens.png') });
  });
});

test('without WebGPU: auto runs the same pipeline on WebAssembly', async () => {
  await withPage('backend=auto&preset=tiny&autostart=1', { webgpu: false }, async (page) => {
    const end = await runEnds(page);
    assert.is(end.state, 'done', end.status);
    assert.is(end.backend, 'wasm');
    assert.match(end.runtime, /wasm backend \(.*(no|adapter|WebGPU).*\)/i);
    const shown = await readPage(page);
    assert.equal(shown.charts.filter((c) => !c.drawn), []);
    assert.is(shown.cells.length, 2);
    assert.ok(shown.tensors.includes('wte.weight'));
    await page.screenshot({ path: join(shots, 'browser-example-wasm.png'), fullPage: true });
  });
});

test('with the LoRA box ticked, the GRM and the policy train adapters on the SFT policy: the downloads are PEFT\'s files and the SFT model', async () => {
  await withPage('backend=wasm&preset=tiny&use_peft=1&autostart=1', { webgpu: false }, async (page) => {
    assert.ok(await page.evaluate(() => document.querySelector('input[name=use_peft]').checked), 'use_peft=1 ticks the box');
    const end = await runEnds(page);
    assert.is(end.state, 'done', end.status);
    const shown = await readPage(page);
    assert.equal(shown.charts.filter((c) => !c.drawn), []);
    assert.is(shown.cells.length, 2);
    for (const name of ['adapter_model.safetensors', 'adapter_config.json']) assert.ok(shown.links.includes(name), `download ${name}: ${shown.links}`);
    const paths = await page.evaluate(() => Array.from(document.querySelectorAll('#downloads a')).map((a) => a.dataset.path));
    assert.ok(paths.includes('seed-42/sft/final/model.safetensors') && !paths.includes('seed-42/rlmec/final/model.safetensors'), `the only full model is SFT's: ${paths}`);
    assert.ok(shown.tensors.includes('wte.weight'), 'the SFT model, the base');
  });
});

test('GRPO with the page\'s reward function: a broken one is a RewardFunctionError in the status line; the default one trains, its reward curve drawn', async () => {
  await withPage('backend=wasm&method=grpo&preset=tiny', { webgpu: false }, async (page) => {
    const reward = 'textarea[name=reward]';
    assert.ok(await page.isVisible(reward), 'GRPO shows the reward function box');
    assert.ok(!(await page.isVisible('input[name=use_peft]')), 'and hides the LoRA box');
    const source = await page.inputValue(reward);
    assert.match(source, /^function right_answer\(prompts, completions, \{ answer \}\)/);
    // Broken twice: text that is no function, and a function that throws on a completion.
    await page.fill(reward, 'completions => completions.map((c) =>');
    await page.click('#start');
    let end = await runEnds(page);
    assert.is(end.state, 'error');
    assert.match(end.status, /^RewardFunctionError: the reward function does not compile: /);
    await page.fill(reward, 'function digits(prompts, completions, { answer }) {\n  return completions.map((c, i) => answer[i].digits.length);\n}');
    await page.click('#start');
    end = await runEnds(page);
    assert.is(end.state, 'error');
    assert.match(end.status, /^RewardFunctionError: reward function digits threw on completion 0 \(prompt ".*"\): Cannot read properties of undefined/);
    await page.screenshot({ path: join(shots, 'browser-example-grpo-error.png') });

    await page.fill(reward, source);
    await page.click('#start');
    end = await runEnds(page);
    assert.is(end.state, 'done', end.status);
    const shown = await readPage(page);
    assert.equal(shown.charts.map((c) => c.stage), ['sft', 'grpo']);
    assert.equal(shown.charts.filter((c) => !c.drawn), [], 'SFT\'s loss and GRPO\'s reward drawn, 2+ points each');
    const series = await page.evaluate(() => Array.from(document.querySelectorAll('figure[data-stage=grpo] polyline.series'), (p) => p.dataset.series));
    assert.equal(series, ['right_answer'], 'one function: its curve, by its name');
    assert.equal(shown.cells.map((r) => r[0]), ['SFT (start)', 'GRPO']);
    for (const [, accuracy, correct] of shown.cells) {
      assert.match(accuracy, /^\d+\.\d%$/);
      assert.match(correct, /^\d+ \/ 6$/);
    }
    assert.ok(shown.samples >= 1, 'samples before and after');
    assert.ok(await page.isHidden('#tokens'), 'no token-reward view for GRPO');
    const paths = await page.evaluate(() => Array.from(document.querySelectorAll('#downloads a'), (a) => a.dataset.path));
    for (const path of ['grpo/final/model.safetensors', 'grpo/metrics.jsonl', 'grpo/rollouts.jsonl', 'sft/final/model.safetensors', 'outputs.jsonl']) assert.ok(paths.includes(path), `download ${path}: ${paths}`);
    assert.ok(shown.tensors.includes('wte.weight'), 'the GRPO policy parses as safetensors');
    await page.screenshot({ path: join(shots, 'browser-example-grpo.png'), fullPage: true });
  });
});

test('without WebGPU, asking for it is a clear error on the page, not a hang', async () => {
  await withPage('backend=webgpu&preset=tiny&autostart=1', { webgpu: false }, async (page) => {
    const end = await runEnds(page);
    assert.is(end.state, 'error');
    assert.match(end.status, /^NoGPUError: [\s\S]*no usable WebGPU device[\s\S]*backend: 'wasm'/);
  });
});

test('Stop ends a long run between steps; the page answers while it trains', async () => {
  await withPage('backend=wasm&preset=demo', { webgpu: false }, async (page) => {
    await page.click('#start');
    await page.waitForFunction(() => /sft: step \d+/.test(document.getElementById('stage-label').textContent), undefined, { timeout: 60_000 });
    // The worker trains; the page itself still runs its handlers.
    const label = await page.evaluate(() => document.getElementById('stage-label').textContent);
    assert.match(label, /^sft: step \d+ \/ 700/);
    await page.click('#stop');
    const end = await runEnds(page);
    assert.is(end.state, 'stopped', end.status);
    // What the run wrote before the stop stays: SFT's metrics so far; no model, as no stage finished.
    const links = await page.evaluate(() => Array.from(document.querySelectorAll('#downloads a')).map((a) => a.dataset.path));
    assert.equal(links, ['seed-42/sft/metrics.jsonl']);
    assert.ok(await page.evaluate(() => !document.getElementById('start').disabled), 'Start is enabled again');
  });
});

test.run();
