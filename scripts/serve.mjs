// `npm run serve [-- --port 8080]`: serves the repository for the browser example
// (examples/browser/), building dist/ first when it is missing.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { buildPackage, root } from './build_lib.mjs';
import { serveStatic } from './static_server.mjs';

const flag = process.argv.indexOf('--port');
const port = Number(flag >= 0 ? process.argv[flag + 1] : (process.env.PORT ?? 8080));
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`serve: --port ${process.argv[flag + 1]} is not a port number; pass an integer from 0 to 65535`);
  process.exit(2);
}
const built = await stat(join(root, 'dist/web/index.js')).then(() => true, () => false);
if (!built) {
  console.log('serve: building dist/ first (npm run build)…');
  await buildPackage();
}
let server;
try {
  server = await serveStatic(root, { port });
} catch (e) {
  console.error(`serve: cannot listen on 127.0.0.1:${port} (${e.code ?? e.message}); pass another one: npm run serve -- --port 8081`);
  process.exit(1);
}
const base = `http://127.0.0.1:${server.address().port}`;
console.log(`webrlhf examples on ${base}/examples/browser/  (RLMEC in a Web Worker)`);
console.log(`                    ${base}/examples/browser/quickstart.html  (one matmul)`);
console.log('Ctrl+C stops the server.');
