// Every suite that runs in all six legs (Node, Deno, Chromium × WebGPU, WASM).
import './runtime.test.js';
import './matmul.test.js';
import './elementwise.test.js';
import './reduce.test.js';
import './wasm_threads.test.js';
import './safetensors.test.js';
import './model_folder.test.js';
import './layers.test.js';
import './webgpu_layers.test.js';
import './kv_cache.test.js';
import './sampling.test.js';
import './gpt.test.js';
import './generate.test.js';
import './gpt_folder.test.js';
import './learning.test.js';
import './tokenizer.test.js';
import './losses.test.js';
