// The page side: starts the pipeline in worker.js, draws each stage's curve as its steps
// arrive (the library's SVG charts), and at the end shows the accuracy table, samples before
// and after, the token-reward view and download links for the run's files.
//
// URL parameters set the form: ?backend=wasm&preset=tiny&use_peft=1&autostart=1 (the tests use them).
import { escapeHtml, escapeVisible, lineChartSvg } from '../../dist/web/index.js';

/** RLMEC settings (`webrlhf rlmec` keys). demo: the defaults, as `webrlhf demo` runs them. */
const PRESETS = {
  demo: {},
  tiny: {
    n_embd: 32, n_layer: 1, n_head: 2, n_positions: 320, sft_max_steps: 150, sft_learning_rate: 1e-2, task_difficulty: 1,
    task_sft_problems: 256, task_rl_problems: 12, task_test_problems: 6, num_samples: 3, max_new_tokens: 24,
    grm_max_steps: 4, max_steps: 3, tokens_html_samples: 4, logging_steps: 1,
  },
};
/** The curves: one chart per stage, each metric a series. */
const CHARTS = [
  { stage: 'sft', title: 'SFT: loss', metrics: [['loss', 'loss']] },
  { stage: 'grm', title: 'GRM: loss', metrics: [['loss', 'loss']] },
  { stage: 'rlmec', title: 'RLMEC: loss', metrics: [['loss', 'total'], ['rl_loss', 'token-reward RL'], ['imitation_loss', 'imitation']] },
];
/** Per-step losses are noisy (one small batch each): drawn smoothed over the raw points. */
const SMOOTHING = 0.9;
/** The files offered for download, by their place in the run folder (seed-N/ left out: the page runs one seed). */
const DOWNLOADS = [
  ['rlmec/final/model.safetensors', 'RLMEC policy: model.safetensors'],
  // With LoRA the policy is an adapter (PEFT's files) on the SFT policy, its base.
  ['rlmec/final/adapter_model.safetensors', 'RLMEC policy (LoRA adapter): adapter_model.safetensors'],
  ['rlmec/final/adapter_config.json', 'adapter_config.json'],
  ['rlmec/final/config.json', 'config.json'],
  ['rlmec/final/tokenizer.json', 'tokenizer.json'],
  ['rlmec/final/tokenizer_config.json', 'tokenizer_config.json'],
  ['sft/final/model.safetensors', "SFT policy (the start; with LoRA the adapter's base): model.safetensors"],
  ['sft/metrics.jsonl', 'SFT metrics.jsonl'],
  ['grm/metrics.jsonl', 'GRM metrics.jsonl'],
  ['rlmec/metrics.jsonl', 'RLMEC metrics.jsonl'],
  ['samples.jsonl', 'samples.jsonl (token rewards)'],
  ['results.json', 'results.json'],
  ['report.html', 'report.html'],
];
const SAMPLES_SHOWN = 6;

const $ = (id) => document.getElementById(id);
const form = $('controls');
const params = new URLSearchParams(location.search);
for (const name of ['backend', 'preset']) if (params.has(name)) form.elements[name].value = params.get(name);
if (params.has('use_peft')) form.elements.use_peft.checked = params.get('use_peft') === '1';

let worker;
let points = {};
let drawQueued = false;

form.addEventListener('submit', (event) => {
  event.preventDefault();
  start();
});
$('stop').addEventListener('click', () => {
  worker?.postMessage({ type: 'stop' });
  $('stop').disabled = true;
  setStatus('Stopping after the current step…');
});
if (params.get('autostart') === '1') start();

function start() {
  points = {};
  $('log').textContent = '';
  $('runtime').textContent = '';
  for (const id of ['results-section', 'downloads-section']) $(id).hidden = true;
  drawCharts();
  setState('running', 'Starting the device…');
  $('start').disabled = true;
  $('stop').disabled = false;
  worker?.terminate();
  worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  worker.onmessage = ({ data }) => handle[data.type](data);
  worker.onerror = (e) => fail('Error', e.message || 'the worker could not start (is the page served by `npm run serve`?)');
  const config = { ...PRESETS[form.elements.preset.value], use_peft: form.elements.use_peft.checked };
  worker.postMessage({ type: 'start', backend: form.elements.backend.value, config });
}

const handle = {
  runtime({ runtime, backend, reason }) {
    $('runtime').textContent = `${runtime} · ${backend} backend (${reason})`;
    document.body.dataset.backend = backend;
    setStatus('Training…');
  },
  log({ line }) {
    $('log').textContent += `${line}\n`;
    $('log').scrollTop = $('log').scrollHeight;
  },
  step({ stage, step, totalSteps, metrics }) {
    const series = (points[stage] ??= {});
    for (const [key, value] of Object.entries(metrics)) if (Number.isFinite(value)) (series[key] ??= []).push({ x: step, y: value });
    $('stage').hidden = false;
    $('stage-label').textContent = `${stage}: step ${step} / ${totalSteps}, loss ${metrics.loss?.toFixed(4) ?? '—'}`;
    $('stage-progress').value = step / totalSteps;
    if (!drawQueued) {
      drawQueued = true;
      requestAnimationFrame(() => {
        drawQueued = false;
        drawCharts();
      });
    }
  },
  done({ result, files, seconds }) {
    finish();
    showResults(result, files);
    showDownloads(files);
    setState('done', `Done in ${Math.round(seconds)} s on the ${result.backend} backend.`);
  },
  stopped({ files }) {
    finish();
    showDownloads(files);
    setState('stopped', 'Stopped. What the run wrote before the stop is below.');
  },
  error({ name, message }) {
    fail(name, message);
  },
};

function drawCharts() {
  $('charts').innerHTML = CHARTS.map(({ stage, title, metrics }) => {
    const series = metrics.map(([key, name]) => ({ name, points: points[stage]?.[key] ?? [] })).filter((s) => s.points.length);
    if (!series.length) return `<figure class="empty" data-stage="${stage}"><figcaption>${title}</figcaption></figure>`;
    return `<figure data-stage="${stage}">${lineChartSvg({ title, xLabel: 'step', yLabel: 'loss', series, smoothing: SMOOTHING })}</figure>`;
  }).join('');
}

function showResults(result, files) {
  const seed = result.seeds[0];
  const outputs = jsonl(files[`seed-${seed.seed}/outputs.jsonl`]);
  const rows = [['sft', 'SFT (start)'], ['rlmec', 'RLMEC']].filter(([key]) => key in seed.accuracy);
  $('results').tBodies[0].innerHTML = rows.map(([key, label]) => {
    const right = outputs.filter((o) => o.correct[key]).length;
    return `<tr><td>${label}</td><td class="num">${(100 * seed.accuracy[key]).toFixed(1)}%</td><td class="num">${right} / ${outputs.length}</td></tr>`;
  }).join('');
  // Where RL fixed a wrong answer first, then other changes: that is where the difference shows.
  const rank = (o) => (o.correct.rlmec && !o.correct.sft ? 0 : o.outputs.sft !== o.outputs.rlmec ? 1 : 2);
  const shown = [...outputs].sort((a, b) => rank(a) - rank(b)).slice(0, SAMPLES_SHOWN);
  $('samples').innerHTML = shown.map((o) => `<article class="sample">
      <div><b>${escapeHtml(o.question)}</b> (answer ${escapeHtml(String(o.answer))})</div>
      ${['sft', 'rlmec'].map((k) => `<div class="${o.correct[k] ? 'right' : 'wrong'}">${k === 'sft' ? 'before (SFT)' : 'after (RLMEC)'}: ${o.correct[k] ? 'right' : 'wrong'}</div><pre>${escapeVisible(o.outputs[k])}</pre>`).join('')}
    </article>`).join('');
  $('tokens').srcdoc = new TextDecoder().decode(files[`seed-${seed.seed}/tokens.html`] ?? new TextEncoder().encode('<p>No token rewards (tokens_html_samples = 0).</p>'));
  $('results-section').hidden = false;
}

function showDownloads(files) {
  const inSeed = (path) => path.replace(/^seed-\d+\//, '');
  const links = DOWNLOADS.flatMap(([name, label]) => Object.keys(files).filter((path) => inSeed(path) === name).map((path) => [path, label]));
  $('downloads').innerHTML = '';
  for (const [path, label] of links) {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([files[path]]));
    a.download = path.split('/').pop();
    a.textContent = `${label} (${size(files[path].byteLength)})`;
    a.dataset.path = path;
    $('downloads').append(a);
  }
  if (!links.length) $('downloads').textContent = 'Nothing was written before the stop.';
  $('downloads-section').hidden = false;
}

function finish() {
  worker?.terminate();
  worker = undefined;
  $('start').disabled = false;
  $('stop').disabled = true;
  drawCharts();
}

function fail(name, message) {
  finish();
  setState('error', `${name}: ${message}`);
}

function setState(state, text) {
  document.body.dataset.state = state;
  setStatus(text);
  $('status').classList.toggle('error', state === 'error');
}

function setStatus(text) {
  $('status').textContent = text;
}

function size(bytes) {
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(0)} kB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function jsonl(bytes) {
  if (!bytes) return [];
  return new TextDecoder().decode(bytes).split('\n').filter(Boolean).map((line) => JSON.parse(line));
}
