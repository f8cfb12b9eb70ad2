// `npm run bench -- <name> [...]`: bundles bench/<name>.ts for Node and runs it.
// Benchmarks print their figures next to a peer measured in the same run.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildWasm, bundle, root } from '../scripts/build_lib.mjs';

// Benchmarks are named as files with dashes for underscores: train-step is bench/train_step.ts.
const available = readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3).replace(/_/g, '-'));
const names = process.argv.slice(2);
if (names.length === 0 || names.some((n) => !available.includes(n))) {
  console.error(`Usage: npm run bench -- <${available.join('|')}> [...]`);
  process.exit(2);
}
const out = join(root, 'build/bench');
await buildWasm(out);
for (const name of names) {
  const file = join(out, `${name}.mjs`);
  await bundle({ entry: join(root, `bench/${name.replace(/-/g, '_')}.ts`), outFile: file, target: 'node', alias: { webrlhf: join(root, 'src/entry/node.ts') } });
  const run = spawnSync(process.execPath, ['--enable-source-maps', file], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  // Dawn's start-up warnings are noise here; real errors still show.
  process.stderr.write(run.stderr.split('\n').filter((l) => !/XDG_RUNTIME_DIR|shaderUniform|While initializing adapter|PhysicalDeviceVk|artificially reduced|^\s*$/.test(l)).join('\n'));
  if (run.status !== 0) process.exit(run.status ?? 1);
}
