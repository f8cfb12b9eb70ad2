// `npm run build` (also run by `npm install` through `prepare`). Works under Node and Deno.
import { buildPackage } from './build_lib.mjs';

const t0 = performance.now();
const { wasmBytes } = await buildPackage();
console.log(`webrlhf: built dist/ (node, web, cli; webrlhf.wasm ${wasmBytes} bytes) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
