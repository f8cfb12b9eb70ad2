// Regenerates the key tables of docs/CONFIG.md from the config schemas (configReference()),
// between its "generated" markers. Run: npm run docs:config
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundle, root } from './build_lib.mjs';

const entry = join(root, 'src/pipelines/config_reference.ts');
const out = join(root, 'build/config_reference.mjs');
await bundle({ entry, outFile: out, target: 'node' });
const { configReference } = await import(pathToFileURL(out).href);

const docs = join(root, 'docs/CONFIG.md');
const text = await readFile(docs, 'utf8');
const begin = '<!-- generated: configReference() -->';
const end = '<!-- end generated -->';
const a = text.indexOf(begin);
const b = text.indexOf(end);
if (a === -1 || b < a) throw new Error(`docs/CONFIG.md: the markers ${begin} ... ${end} are missing`);
await writeFile(docs, `${text.slice(0, a + begin.length)}\n${configReference()}\n${text.slice(b)}`);
console.log('docs/CONFIG.md: key tables regenerated');
