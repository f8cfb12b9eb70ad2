// The page side: starts the run in worker.js (RLMEC, or GRPO with the reward function typed
// into the page), draws each stage's curve as its steps arrive (the library's SVG charts),
// and at the end shows the accuracy table, samples before and after, RLMEC's token-reward
// view and download links for the run's files.
//
// URL parameters set the form: ?backend=wasm&method=grpo&preset=tiny&use_peft=1&autostart=1 (the tests use them).
import { escapeHtml, escapeVisible, lineChartSvg } from '../../dist/web/index.js';

const PRESETS = {
  /** RLMEC settings (`webrlhf rlmec` keys). demo: the defaults, as `webrlhf demo` runs them. */
  rlmec: {
    demo: {},
    tiny: {
      n_embd: 32, n_layer: 1, n_head: 2, n_positions: 320, sft_max_steps: 150, sft_learning_rate: 1e-2, task_difficulty: 1,
      task_sft_problems: 256, task_rl_problems: 12, task_test_problems: 6, num_samples: 3, max_new_tokens: 24,
      grm_max_steps: 4, max_steps: 3, tokens_html_samples: 4, logging_steps: 1,
    },
  },
  /** GRPO: the model (gptConfig), the task's splits, then sftConfig's and grpoConfig's keys. demo: examples/node/grpo.mjs's sizes. */
  grpo: {
    demo: {
      model: { n_positions: 128, n_embd: 64, n_layer: 2, n_head: 4 }, task: { sft: 800, rl: 256, test: 256 },
      sft: { max_steps: 300, learning_rate: 5e-3, per_device_train_batch_size: 16, logging_steps: 10 },
      grpo: { max_steps: 40, learning_rate: 3e-4, num_generations: 8, per_device_train_batch_size: 128, max_completion_length: 26, seed: 1 },
    },
    tiny: {
      // Enough SFT that some samples are right: with none, every reward is 0 and the curve is flat.
      model: { n_positions: 96, n_embd: 32, n_layer: 1, n_head: 2 }, task: { sft: 256, rl: 32, test: 6 },
      sft: { max_steps: 300, learning_rate: 1e-2, per_device_train_batch_size: 16 },
      grpo: { max_steps: 4, learning_rate: 3e-4, num_generations: 8, per_device_train_batch_size: 64, max_completion_length: 24, seed: 1, logging_steps: 1 },
    },
  },
};
/** The curves: one chart per stage, each metric a series. */
const CHARTS = {
  rlmec: [
    { stage: 'sft', title: 'SFT: loss', y: 'loss', metrics: [['loss', 'loss']] },
    { stage: 'grm', title: 'GRM: loss', y: 'loss', metrics: [['loss', 'loss']] },
    { stage: 'rlmec', title: 'RLMEC: loss', y: 'loss', metrics: [['loss', 'total'], ['rl_loss', 'token-reward RL'], ['imitation_loss', 'imitation']] },
  ],
  grpo: [
    { stage: 'sft', title: 'SFT: loss', y: 'loss', metrics: [['loss', 'loss']] },
    // A series per reward function (rewards/<name>/mean, named after the function), and their weighted sum when there are several.
    { stage: 'grpo', title: 'GRPO: reward', y: 'reward', metrics: [['reward', 'weighted sum']], perFunction: true },
  ],
};
const METHOD_NAMES = { rlmec: 'RLMEC', grpo: 'GRPO' };
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
  ['grpo/final/model.safetensors', 'GRPO policy: model.safetensors'],
  ['grpo/final/config.json', 'config.json'],
  ['grpo/final/tokenizer.json', 'tokenizer.json'],
  ['sft/final/model.safetensors', "SFT policy (the start; with LoRA the adapter's base): model.safetensors"],
  ['sft/metrics.jsonl', 'SFT metrics.jsonl'],
  ['grm/metrics.jsonl', 'GRM metrics.jsonl'],
  ['rlmec/metrics.jsonl', 'RLMEC metrics.jsonl'],
  ['grpo/metrics.jsonl', 'GRPO metrics.jsonl'],
  ['grpo/rollouts.jsonl', 'GRPO rollouts.jsonl (every completion, its rewards and advantage)'],
  ['outputs.jsonl', 'outputs.jsonl (test solutions before and after)'],
  ['samples.jsonl', 'samples.jsonl (token rewards)'],
  ['results.json', 'results.json'],
  ['report.html', 'report.html'],
];
const SAMPLES_SHOWN = 6;

const $ = (id) => document.getElementById(id);
const form = $('controls');
const params = new URLSearchParams(location.search);
for (const name of ['backend', 'method', 'preset']) if (params.has(name)) form.elements[name].value = params.get(name);
if (params.has('use_peft')) form.elements.use_peft.checked = params.get('use_peft') === '1';
form.elements.method.addEventListener('change', showMethod);
showMethod();

let worker;
/** The method of the run on the page (the form may change while it runs). */
let method = form.elements.method.value;
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

/** LoRA applies to the RLMEC pipeline; the reward function to GRPO. */
function showMethod() {
  const grpo = form.elements.method.value === 'grpo';
  $('reward-box').hidden = !grpo;
  $('peft-box').hidden = grpo;
}

function start() {
  method = form.elements.method.value;
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
  const backend = form.elements.backend.value;
  const preset = PRESETS[method][form.elements.preset.value];
  if (method === 'grpo') worker.postMessage({ type: 'start', backend, method, config: preset, reward: form.elements.reward.value });
  else worker.postMessage({ type: 'start', backend, method, config: { ...preset, use_peft: form.elements.use_peft.checked } });
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
    const key = stage === 'grpo' ? 'reward' : 'loss';
    $('stage-label').textContent = `${stage}: step ${step} / ${totalSteps}, ${key} ${metrics[key]?.toFixed(4) ?? '—'}`;
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
    showResults(method === 'grpo' ? result : rlmecSummary(result), files);
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
  $('charts').innerHTML = CHARTS[method].map(({ stage, title, y, metrics, perFunction }) => {
    const own = perFunction ? Object.keys(points[stage] ?? {}).flatMap((k) => { const m = /^rewards\/(.+)\/mean$/.exec(k); return m ? [[k, m[1]]] : []; }) : [];
    const keys = own.length === 1 ? own : [...metrics, ...own];
    const series = keys.map(([key, name]) => ({ name, points: points[stage]?.[key] ?? [] })).filter((s) => s.points.length);
    if (!series.length) return `<figure class="empty" data-stage="${stage}"><figcaption>${title}</figcaption></figure>`;
    return `<figure data-stage="${stage}">${lineChartSvg({ title, xLabel: 'step', yLabel: y, series, smoothing: SMOOTHING })}</figure>`;
  }).join('');
}

/** RLMEC's result in the shape the GRPO worker returns: accuracy by method, the outputs' and token view's files. */
function rlmecSummary(result) {
  const seed = result.seeds[0];
  return { accuracy: seed.accuracy, outputs: `seed-${seed.seed}/outputs.jsonl`, tokens: `seed-${seed.seed}/tokens.html` };
}

function showResults({ accuracy, outputs: outputsFile, tokens }, files) {
  const outputs = jsonl(files[outputsFile]);
  const after = METHOD_NAMES[method];
  const rows = [['sft', 'SFT (start)'], [method, after]].filter(([key]) => key in accuracy);
  $('results').tBodies[0].innerHTML = rows.map(([key, label]) => {
    const right = outputs.filter((o) => o.correct[key]).length;
    return `<tr><td>${label}</td><td class="num">${(100 * accuracy[key]).toFixed(1)}%</td><td class="num">${right} / ${outputs.length}</td></tr>`;
  }).join('');
  // Where RL fixed a wrong answer first, then other changes: that is where the difference shows.
  const rank = (o) => (o.correct[method] && !o.correct.sft ? 0 : o.outputs.sft !== o.outputs[method] ? 1 : 2);
  const shown = [...outputs].sort((a, b) => rank(a) - rank(b)).slice(0, SAMPLES_SHOWN);
  $('samples').innerHTML = shown.map((o) => `<article class="sample">
      <div><b>${escapeHtml(o.question)}</b> (answer ${escapeHtml(String(o.answer))})</div>
      ${['sft', method].map((k) => `<div class="${o.correct[k] ? 'right' : 'wrong'}">${k === 'sft' ? 'before (SFT)' : `after (${after})`}: ${o.correct[k] ? 'right' : 'wrong'}</div><pre>${escapeVisible(o.outputs[k])}</pre>`).join('')}
    </article>`).join('');
  for (const el of document.querySelectorAll('.method-name')) el.textContent = after;
  // Only RLMEC has token rewards to show.
  $('tokens-section').hidden = !tokens;
  if (tokens) $('tokens').srcdoc = new TextDecoder().decode(files[tokens] ?? new TextEncoder().encode('<p>No token rewards (tokens_html_samples = 0).</p>'));
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
