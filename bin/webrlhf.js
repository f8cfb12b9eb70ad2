#!/usr/bin/env node
// The `webrlhf` command. The CLI itself is bundled into dist/ by `npm run build`
// (which `npm install` runs through the `prepare` script).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/node/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('webrlhf: dist/node/cli.js is missing. Run `npm run build` in the webrlhf package first.');
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
