// `npm test`: builds the suites, then runs them in every runtime × backend leg and prints
// one summary per leg and a last line `N passed, N failed`.
//
// WEBRLHF_TEST_LEGS=node-wasm,deno-webgpu,...  runs only those legs (local work; CI runs all).
// WEBRLHF_TEST_FILES=kv_cache,gpt                runs only those suites (test/<name>.test.ts).
// A leg whose runtime is missing (no Deno, no Chromium, no GPU adapter) fails; it is never skipped.
import { spawn } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildPackage, bundle, copyWasm, root } from '../scripts/build_lib.mjs';
import { serveStatic } from '../scripts/static_server.mjs';

const LEGS = ['node-wasm', 'node-webgpu', 'deno-wasm', 'deno-webgpu', 'chromium-wasm', 'chromium-webgpu', 'examples'];
const LEG_TIMEOUT_MS = 15 * 60 * 1000;
const out = join(root, 'build/test');

const only = process.env.WEBRLHF_TEST_LEGS?.split(',').map((s) => s.trim()).filter(Boolean);
const unknown = only?.filter((l) => !LEGS.includes(l)) ?? [];
if (unknown.length) {
  console.error(`WEBRLHF_TEST_LEGS: unknown legs ${unknown.join(', ')}; known: ${LEGS.join(', ')}`);
  process.exit(2);
}
const legs = only ?? LEGS;

await mkdir(out, { recursive: true });
// The package itself first: the examples import it as users do.
await buildPackage();
await copyWasm(join(root, 'dist'), out);
const files = process.env.WEBRLHF_TEST_FILES?.split(',').map((s) => s.trim()).filter(Boolean);
const entry = (name) => (files ? onlyEntry(name) : join(root, `test/${name}.ts`));
await bundle({ entry: await entry('entry_node'), outFile: join(out, 'node.mjs'), target: 'node', alias: { webrlhf: join(root, 'src/entry/node.ts') } });
await bundle({ entry: await entry('entry_web'), outFile: join(out, 'web.mjs'), target: 'web', alias: { webrlhf: join(root, 'src/entry/web.ts') } });

/** An entry that runs only the WEBRLHF_TEST_FILES suites, in the harness the full entries use. */
async function onlyEntry(name) {
  const path = join(out, `${name}_only.ts`);
  // The web entry takes only the suites every leg runs (test/suites.ts), not the Node-only ones.
  const shared = await readFile(join(root, 'test/suites.ts'), 'utf8');
  const chosen = name === 'entry_web' ? files.filter((f) => shared.includes(`'./${f}.test.js'`)) : files;
  const imports = ['harness/uvu_defer.js', ...chosen.map((f) => `${f}.test.js`)].map((f) => `import '${join(root, 'test', f)}';`);
  await writeFile(path, `${imports.join('\n')}\nimport { finish } from '${join(root, 'test/harness/finish.js')}';\nawait finish();\n`);
  return path;
}

const results = [];
for (const leg of legs) {
  const [runtime, backend] = leg.split('-');
  console.log(`\n━━ ${leg} ━━`);
  const t0 = performance.now();
  let run;
  try {
    run = leg === 'examples' ? await runExamples() : runtime === 'chromium' ? await runChromium(backend) : await runProcess(runtime, backend);
  } catch (e) {
    run = { output: '', ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  const counts = parseUvu(run.output);
  // A leg that crashed, ended without uvu's summary, or failed after all its tests passed
  // (a crash on exit) counts one failure on top of its tests.
  const broken = !counts.complete || (!run.ok && counts.passed === counts.total);
  const failed = counts.total - counts.passed + (broken ? 1 : 0);
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  if (run.error) console.log(`  leg error: ${run.error}`);
  if (broken && counts.total === 0) console.log(`  ${leg} ran no tests: its runtime or backend is not usable here (see above)`);
  const slowest = suiteSeconds(run.output).slice(0, 5);
  if (slowest.length) console.log(`  slowest suites: ${slowest.map(([name, s]) => `${name} ${s.toFixed(0)} s`).join(', ')}`);
  results.push({ leg, passed: counts.passed, failed, seconds });
}

console.log('\n━━ summary ━━');
for (const r of results) console.log(`  ${r.leg.padEnd(16)} ${String(r.passed).padStart(4)} passed ${String(r.failed).padStart(3)} failed  ${r.seconds.padStart(6)} s`);
if (only) console.log(`  (WEBRLHF_TEST_LEGS: only ${legs.length} of ${LEGS.length} legs ran)`);
if (files) console.log(`  (WEBRLHF_TEST_FILES: only ${files.join(', ')})`);
const passed = results.reduce((s, r) => s + r.passed, 0);
const failed = results.reduce((s, r) => s + r.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

/**
 * [suite, seconds], slowest first: uvu starts a suite with " name  " (two spaces), then its
 * bullets and whatever its tests print, then "(n / m)"; the harness follows with "suite
 * seconds N". In Chromium console messages arrive unbroken, so the next suite's name shares
 * the time's line: the time is matched ahead (not consumed) so that line still starts a match.
 */
function suiteSeconds(text) {
  const clean = text.replace(/\x1b\[[0-9;]*m/g, '');
  const suite = /^[ \t]*(?:suite seconds [\d.]+[ \t]*)?(\S+(?: \S+)*?)  [\s\S]*?\(\d+ \/ \d+\)(?=\s*suite seconds ([\d.]+))/gm;
  return [...clean.matchAll(suite)].map((m) => [m[1], +m[2]]).sort((a, b) => b[1] - a[1]);
}

/** uvu's closing lines: Total / Passed / Skipped. */
function parseUvu(text) {
  const clean = text.replace(/\x1b\[[0-9;]*m/g, '');
  const total = /Total:\s+(\d+)/.exec(clean);
  const passed = /Passed:\s+(\d+)/.exec(clean);
  const skipped = /Skipped:\s+(\d+)/.exec(clean);
  if (!total || !passed) {
    // Count the per-suite "(n / m)" lines of a run that stopped early.
    let t = 0, p = 0;
    for (const m of clean.matchAll(/\((\d+) \/ (\d+)\)/g)) { p += +m[1]; t += +m[2]; }
    return { total: t, passed: p, complete: false };
  }
  // A skipped test is not a pass: count it as a failure.
  return { total: +total[1] + +(skipped?.[1] ?? 0), passed: +passed[1], complete: true };
}

function runProcess(runtime, backend) {
  const env = { ...process.env, WEBRLHF_TEST_BACKEND: backend, FORCE_COLOR: process.stdout.isTTY ? '1' : '0' };
  return runCommand(runtime, runtime === 'node' ? ['--enable-source-maps', join(out, 'node.mjs')] : ['run', '-A', '--no-prompt', join(out, 'web.mjs')], env);
}

/**
 * The examples, run as a user runs them (through the built package), reported in uvu's
 * format so the summary counts them like any other test. A case checks the output; the
 * browser example's file is itself a uvu suite (Chromium through playwright-core), whose
 * tests count one by one.
 */
async function runExamples() {
  const quickstart = /a·b \+ bias = \[?\s*14, 25, 20, 31/;
  // The training example must learn (the last loss well below the first) and reload to the same loss.
  const trained = (out) => {
    const m = /trained: loss ([\d.]+) → ([\d.]+); reloaded from .*: loss ([\d.]+)/.exec(out);
    const continued = /greedy continuation of "webrlhf trains": " GPT-2 where/.test(out);
    return !!m && Number(m[2]) < 0.5 * Number(m[1]) && m[3] === m[2] && continued;
  };
  // The API tour: stopped by its AbortSignal, resumed from the checkpoint, learned, aligned, generated, saved.
  const aligned = (out) => {
    const sft = /SFT: resumed from step 200, ended at step 400: loss ([\d.]+) → ([\d.]+)/.exec(out);
    return /stopped at step 250 \(AbortSignal\)/.test(out) && !!sft && Number(sft[2]) < 0.2 * Number(sft[1]) &&
      /DPO: \d+ pairs, 40 steps, rewards\/accuracies [\d.]+; test accuracy [\d.]+% → [\d.]+%/.test(out) &&
      /generated for ".*": ".*The answer is -?\d+"/.test(out) && /scored: \d+ tokens, log-probability -[\d.]+/.test(out) &&
      /saved and reloaded .*: 2 layers, 64 wide/.test(out);
  };
  // The GRPO example: the mean reward of its last 8 steps above its first 8's by more than an
  // 8-step mean's noise (about 0.02), and test accuracy printed before and after.
  const grpo = (out) => {
    const m = /GRPO: 40 steps of 128 completions, mean reward ([\d.]+) \(first 8 steps\) → ([\d.]+) \(last 8\); greedy test accuracy [\d.]+% → [\d.]+% \(\d+ problems\)/.exec(out);
    return !!m && Number(m[2]) > Number(m[1]) + 0.03;
  };
  // The pipeline example: both table rows, every stage's steps seen through onStep, the run's files written.
  const pipeline = (out) =>
    /SFT \(start\)\s+\d+\.\d%/.test(out) && /RLMEC\s+\d+\.\d%/.test(out) && /steps per stage: sft 300, grm 60, rlmec 20/.test(out) &&
    /seed-42\/rlmec\/final\/model\.safetensors: [1-9]\d* bytes/.test(out) && /seed-42\/tokens\.html: [1-9]\d* bytes/.test(out);
  const deno = (file, backend) => ['deno', ['run', '-A', '--no-prompt', file, backend]];
  const cases = [
    [['node', ['examples/node/quickstart.mjs', 'wasm']], (o) => quickstart.test(o)],
    [['node', ['examples/node/quickstart.mjs', 'webgpu']], (o) => quickstart.test(o)],
    [deno('examples/deno/quickstart.ts', 'wasm'), (o) => quickstart.test(o)],
    [deno('examples/deno/quickstart.ts', 'webgpu'), (o) => quickstart.test(o)],
    [['node', ['examples/node/train_gpt.mjs', 'wasm']], trained],
    [deno('examples/deno/train_gpt.ts', 'wasm'), trained],
    [['node', ['examples/node/align.mjs', 'wasm']], aligned],
    [['node', ['examples/node/grpo.mjs', 'wasm']], grpo],
    [deno('examples/deno/rlmec.ts', 'wasm'), pipeline],
    [['node', ['test/examples/browser.test.mjs']], 'uvu'],
  ];
  let total = 0, passed = 0;
  for (const [[runtime, args], expected] of cases) {
    const run = await runCommand(runtime, args, process.env);
    if (expected === 'uvu') {
      const counts = parseUvu(run.output);
      total += Math.max(counts.total, 1);
      passed += run.ok && counts.complete ? counts.passed : 0;
      if (!run.ok || !counts.complete) console.log(`  FAIL: ${runtime} ${args.join(' ')}: ${run.error ?? 'no uvu summary'}`);
      continue;
    }
    total++;
    if (run.ok && expected(run.output)) passed++;
    else console.log(`  FAIL: ${runtime} ${args.join(' ')}: ${run.error ?? 'unexpected output'}`);
  }
  return { output: `\n  Total:     ${total}\n  Passed:    ${passed}\n  Skipped:   0\n`, ok: passed === total };
}

function runCommand(runtime, args, env) {
  const cmd = runtime === 'node' ? process.execPath : join(root, 'node_modules/.bin/deno');
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(cmd, args, { env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), LEG_TIMEOUT_MS);
    const take = (chunk) => { output += chunk; process.stdout.write(chunk); };
    child.stdout.on('data', take);
    child.stderr.on('data', (c) => { if (!isDawnNoise(String(c))) process.stdout.write(c); });
    child.on('error', (e) => { clearTimeout(timer); resolve({ output, ok: false, error: `${cmd}: ${e.message}` }); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ output, ok: code === 0, error: code === 0 ? undefined : `exit ${code ?? signal}` });
    });
  });
}

/** Dawn's harmless start-up warnings (no XDG_RUNTIME_DIR, lavapipe lacking a Vulkan feature). */
function isDawnNoise(text) {
  return /XDG_RUNTIME_DIR|shaderUniform\*ArrayDynamicIndexing|While initializing adapter|PhysicalDeviceVk\.cpp|artificially reduced/.test(text) || !text.trim();
}

async function runChromium(backend) {
  const { chromium } = await import('playwright-core');
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  try {
    await stat(executablePath);
  } catch {
    return { output: '', ok: false, error: `no Chromium at ${executablePath}: apt-get install chromium (or set CHROMIUM_PATH)` };
  }
  const server = await serveStatic(root);
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-webgpu-adapter=swiftshader',
      '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  let output = '';
  try {
    const page = await browser.newPage();
    page.on('console', (m) => {
      // uvu colours its output in browsers whatever the terminal; keep colour for a TTY only.
      const text = process.stdout.isTTY ? m.text() : m.text().replace(/\x1b\[[0-9;]*m/g, '');
      output += text;
      process.stdout.write(text);
    });
    page.on('pageerror', (e) => {
      output += `\npage error: ${e.message}\n`;
      console.log(`\npage error: ${e.stack ?? e.message}`);
    });
    const { port } = server.address();
    await page.goto(`http://127.0.0.1:${port}/test/browser.html?backend=${backend}`);
    await page.waitForFunction(() => globalThis.__webrlhfTestDone !== undefined, undefined, { timeout: LEG_TIMEOUT_MS, polling: 250 });
    const done = await page.evaluate(() => globalThis.__webrlhfTestDone);
    return { output, ok: !done.crashed, error: done.crashed ?? undefined };
  } finally {
    await browser.close();
    server.close();
  }
}
