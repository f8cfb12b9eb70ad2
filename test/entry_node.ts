// Test entry for Node: the shared suites plus what exists only in Node (the CLI).
import './harness/uvu_defer.js';
import './suites.js';
import './cli.test.js';
import { finish } from './harness/finish.js';

await finish();
