// The test entry bundled for every leg (test/run.mjs). Suites register on import; finish()
// runs them all against the leg's backend.
import './harness/uvu_defer.js';
import './runtime.test.js';
import './matmul.test.js';
import './elementwise.test.js';
import './reduce.test.js';
import { finish } from './harness/finish.js';

await finish();
