// SFT on conversations (TRL's {messages} format) with assistant_only_loss: every assistant turn
// is learned, as the chat template writes it up to its end-of-turn token, and nothing else.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CausalLM, ConfigError, SFTTrainer, byteTokenizer, chatSegments, encodeSegments, loadTokenizer, sftConfig, sftRecord, type ChatMessage,
} from 'webrlhf';
import { platform } from '../src/runtime/platform.js';
import { TOY_LLAMA_CONFIG } from './harness/toy_task.js';
import { legBackendInstance as backend } from './harness/runtime.js';

const test = suite('chat sft');

const CONVERSATION: ChatMessage[] = [
  { role: 'system', content: 'Answer briefly.' },
  { role: 'user', content: 'What is 2 + 3?' },
  { role: 'assistant', content: 'It is 5.' },
  { role: 'user', content: 'And 4 + 4?' },
  { role: 'assistant', content: 'It is 8.' },
];

/** The text of the tokens a row learns (label ≠ −100). */
const learned = (tokenizer: { decode(ids: number[]): string }, row: { ids: number[]; labels: number[] }) =>
  tokenizer.decode(row.ids.filter((_, i) => row.labels[i] !== -100));

test('Qwen2.5\'s template: both assistant turns and their <|im_end|> are learned; system and user turns are not', async () => {
  const tokenizer = await loadTokenizer(platform().fs ? 'test/fixtures/tokenizers/qwen2.5' : '/test/fixtures/tokenizers/qwen2.5');
  const segments = chatSegments(CONVERSATION, tokenizer.chatTemplate);
  assert.is(segments.map((s) => s.text).join(''), tokenizer.chatTemplate!.render(CONVERSATION), 'the segments are the rendered conversation');
  const row = encodeSegments(tokenizer, segments, { maxLength: 1000 });
  assert.is(learned(tokenizer, row), 'It is 5.<|im_end|>It is 8.<|im_end|>');
  assert.equal(row.ids, tokenizer.encode(tokenizer.chatTemplate!.render(CONVERSATION)), 'segment-wise ids are the whole text\'s ids');
  // The record keeps the conversation for the trainer.
  assert.equal(sftRecord({ messages: CONVERSATION }, { file: 'x' }, tokenizer.chatTemplate).messages, CONVERSATION);
});

test('the built-in template: each assistant content, then EOS, is learned', () => {
  const tokenizer = byteTokenizer();
  const row = encodeSegments(tokenizer, chatSegments(CONVERSATION), { maxLength: 1000 });
  const eos = tokenizer.eosTokenId!;
  const kept = row.ids.filter((_, i) => row.labels[i] !== -100);
  assert.equal(kept.filter((id) => id === eos).length, 2);
  assert.is(tokenizer.decode(kept.filter((id) => id !== eos)), 'It is 5.It is 8.');
  assert.is(encodeSegments(tokenizer, chatSegments(CONVERSATION), { maxLength: 12 }).ids.length, 12, 'cut from the right');
});

test('SFTTrainer with assistant_only_loss trains on conversations; a {prompt, completion} record is a ConfigError', async () => {
  const be = await backend();
  const tokenizer = byteTokenizer();
  const model = CausalLM.create(be, { ...TOY_LLAMA_CONFIG, max_position_embeddings: 128 }, { seed: 3 });
  const config = sftConfig({ assistant_only_loss: true, max_steps: 4, per_device_train_batch_size: 2, learning_rate: 3e-3, max_length: 128, save_steps: 100 });
  const train = Array.from({ length: 4 }, () => sftRecord({ messages: CONVERSATION }));
  const losses: number[] = [];
  await new SFTTrainer({ model, tokenizer, config, train }).train({ onStep: (e) => losses.push(e.metrics.loss!) });
  assert.is(losses.length, 4);
  assert.ok(losses.every(Number.isFinite) && losses[3]! < losses[0]!, `losses ${losses.join(' ')}`);
  assert.throws(
    () => new SFTTrainer({ model, tokenizer, config, train: [{ prompt: 'a', completion: 'b' }] }),
    (e: unknown) => e instanceof ConfigError && /assistant_only_loss needs conversational records/.test((e as Error).message),
  );
  model.dispose();
});

test.run();
