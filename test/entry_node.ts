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
import './cli_rlmec.test.js';
import './cli_rlp.test.js';
import './demo.test.js';
import './datasets_node.test.js';
import './config_node.test.js';
import './source_layers_node.test.js';
import { finish } from './harness/finish.js';

await finish();
