// Test entry for Node: the shared suites plus what exists only in Node (the CLI, node:fs model folders).
import './harness/uvu_defer.js';
import './suites.js';
import './cli.test.js';
import './model_folder_node.test.js';
import './run_folder_node.test.js';
import './cli_grad.test.js';
import './cli_generate.test.js';
import './cli_train.test.js';
import './cli_lora.test.js';
import './cli_grpo.test.js';
import './grpo_trainers.test.js';
import './lora_pipelines.test.js';
import './datasets_node.test.js';
import './config_node.test.js';
import './source_layers_node.test.js';
import { finish } from './harness/finish.js';
import { legBackend } from './harness/runtime.js';

// The CLI's research-pipeline commands (webrlhf rlp, rlmec, demo) run in the Node × WASM leg
// only: they check the CLI around the pipelines (arguments, tables, run folders, reruns,
// errors, report.html), while every stage of both pipelines runs on WebGPU in the shared
// suites rlp_pipeline and rlmec_pipeline (all three runtimes) and lora_pipelines (Node), and
// the CLI runs on WebGPU in cli_train, cli_lora and cli_grpo. On Dawn's software adapter
// they only repeated that at six times the cost (207 s of the leg against 29 s on WASM).
if (legBackend() === 'wasm') {
  await import('./cli_rlmec.test.js');
  await import('./cli_rlp.test.js');
  await import('./demo.test.js');
}

await finish();
