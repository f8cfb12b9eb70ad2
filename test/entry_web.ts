// Test entry for Deno and Chromium (bundled by test/run.mjs with the web platform).
import './harness/uvu_defer.js';
import './suites.js';
import { finish } from './harness/finish.js';

await finish();
