// One dataset record, checked and normalised: TRL's standard formats (plain strings) and
// conversational formats (message lists, rendered with the chat template in chat.ts) both
// become plain strings, so trainers see one shape per task. Extra fields are ignored, except
// a prompt record's: they are the dataset columns GRPO and RLOO hand to reward functions.
import { DatasetError, TokenizerError } from '../errors.js';
import { extractAnswer } from '../tasks/arithmetic.js';
import type { ChatTemplate } from '../text/chat_template.js';
import { CHAT_ROLES, renderChatPrompt, splitChat, type ChatMessage, type ChatRole } from './chat.js';

/** Supervised fine-tuning: the loss is on the completion's tokens (see SFTConfig.completion_only_loss). */
export interface SFTRecord {
  prompt: string;
  completion: string;
  /** The conversation a {messages} record came from (SFTConfig.assistant_only_loss trains on all its assistant turns). */
  messages?: ChatMessage[];
}

/** A preference pair: two completions of one prompt, the chosen one preferred. */
export interface PreferenceRecord {
  prompt: string;
  chosen: string;
  rejected: string;
}

/**
 * A prompt to sample completions for (PPO, GRPO and RLOO). Its other fields are kept as they
 * are: the dataset columns a reward function reads (TRL passes them as keyword arguments),
 * e.g. the `answer` an accuracy reward checks.
 */
export interface PromptRecord {
  prompt: string;
  [column: string]: unknown;
}

/** A reasoning problem with a known answer (RLMEC): the policy is rewarded for reaching `answer`. */
export interface ProblemRecord {
  question: string;
  /** The reference solution: steps one per line, ending with "The answer is N". */
  solution: string;
  answer: number;
}

/** A teacher's minimum-edit rewrite of a policy sample (RLMEC's rewriting task). */
export interface RewriteRecord {
  question: string;
  /** The sample exactly as the policy wrote it. */
  prediction: string;
  /** The prediction with its mistakes corrected and as little else changed as possible. */
  rewrite: string;
}

/** Where a record is, for messages: a file and line, or an array (`file` its name) and index. */
export interface RecordSite {
  file: string;
  line?: number;
  index?: number;
}

const SHAPES = {
  sft: '{prompt, completion}, {messages: [{role, content}, ...]} or {text}',
  preference: '{prompt, chosen, rejected}',
  prompt: '{prompt}',
  problem: '{question, solution, answer}',
  rewrite: '{question, prediction, rewrite}',
} as const;

type Shape = keyof typeof SHAPES;

/** "train.jsonl line 7", "records[3]" or just the file. */
export function siteLabel(site: RecordSite): string {
  if (site.line !== undefined) return `${site.file} line ${site.line}`;
  if (site.index !== undefined) return `${site.file}[${site.index}]`;
  return site.file;
}

/** A value as a message shows it: strings quoted (and cut short), arrays and objects by kind. */
function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/** Builds the errors of one record; each names the site, the field and the shape expected. */
function complainer(site: RecordSite, shape: Shape) {
  const unit = site.line !== undefined ? 'line' : 'record';
  return (field: string | undefined, problem: string) =>
    new DatasetError(`${siteLabel(site)}: ${field === undefined ? `the ${unit}` : `field "${field}"`} ${problem}; each ${unit} needs ${SHAPES[shape]}`, {
      ...site,
      ...(field === undefined ? {} : { field }),
    });
}

type Complain = ReturnType<typeof complainer>;

function objectOf(value: unknown, complain: Complain): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw complain(undefined, `is ${show(value)}, not a JSON object`);
  return value as Record<string, unknown>;
}

function stringField(record: Record<string, unknown>, field: string, complain: Complain): string {
  const v = record[field];
  if (v === undefined) throw complain(field, 'is missing');
  if (typeof v !== 'string') throw complain(field, `must be a string, got ${show(v)}`);
  return v;
}

/** A plain decimal, as JSON numbers are often written by tools that quote everything. */
const NUMERIC_STRING = /^\s*-?\d+(\.\d+)?\s*$/;

/** A finite number, or a string holding one ("42", "-2.5"). */
function numberField(record: Record<string, unknown>, field: string, complain: Complain): number {
  const v = record[field];
  if (v === undefined) throw complain(field, 'is missing');
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && NUMERIC_STRING.test(v)) return Number(v);
  throw complain(field, `must be a number like 42 or "42", got ${show(v)}`);
}

function messagesOf(v: unknown, field: string, complain: Complain): ChatMessage[] {
  if (!Array.isArray(v) || v.length === 0) throw complain(field, `must be a non-empty list of {role, content} messages, got ${show(v)}`);
  return v.map((m: unknown, i) => {
    const at = `${field}[${i}]`;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw complain(at, `must be a {role, content} object, got ${show(m)}`);
    const { role, content } = m as Record<string, unknown>;
    if (!CHAT_ROLES.includes(role as ChatRole)) throw complain(`${at}.role`, `must be "system", "user" or "assistant", got ${show(role)}`);
    if (typeof content !== 'string') throw complain(`${at}.content`, `must be a string, got ${show(content)}`);
    return { role: role as ChatRole, content };
  });
}

/** A chat template's rendering; a conversation it refuses is a bad record (its field named), not a broken tokenizer. */
function rendered<T>(render: () => T, field: string, complain: Complain): T {
  try {
    return render();
  } catch (e) {
    if (e instanceof TokenizerError) throw complain(field, `cannot be rendered: ${e.message}`);
    throw e;
  }
}

/** A prompt: a string, or a conversation (rendered up to the assistant's header) that does not end with the assistant. */
function promptField(record: Record<string, unknown>, field: string, complain: Complain, template: ChatTemplate | undefined): string {
  const v = record[field];
  if (v === undefined) throw complain(field, 'is missing');
  if (typeof v === 'string') return v;
  if (!Array.isArray(v)) throw complain(field, `must be a string or a list of {role, content} messages, got ${show(v)}`);
  const messages = messagesOf(v, field, complain);
  if (messages.at(-1)!.role === 'assistant') {
    throw complain(field, "ends with an assistant message; a conversational prompt ends with the user's (or system's) turn, and the answer goes in the completion");
  }
  return rendered(() => renderChatPrompt(messages, template), field, complain);
}

/** A completion: a string, or a list of exactly one assistant message (TRL's conversational form). */
function responseField(record: Record<string, unknown>, field: string, complain: Complain): string {
  const v = record[field];
  if (v === undefined) throw complain(field, 'is missing');
  if (typeof v === 'string') return v;
  if (!Array.isArray(v)) throw complain(field, `must be a string or a list with one assistant message, got ${show(v)}`);
  const messages = messagesOf(v, field, complain);
  if (messages.length !== 1 || messages[0]!.role !== 'assistant') {
    throw complain(field, `must be a string or a list with one assistant message, got ${messages.length} message(s) starting with a "${messages[0]!.role}" one`);
  }
  return messages[0]!.content;
}

/**
 * An SFT record from `{prompt, completion}`, `{messages}` (the last message is the
 * assistant's and becomes the completion; the rest, rendered with the chat template, is the
 * prompt) or `{text}` (an empty prompt: the loss covers all of the text). Conversations are
 * rendered with `template` (a tokenizer's chatTemplate) when given, else the built-in template
 * (src/data/chat.ts). Throws DatasetError.
 */
export function sftRecord(value: unknown, site: RecordSite = { file: 'record' }, template?: ChatTemplate): SFTRecord {
  const complain = complainer(site, 'sft');
  const record = objectOf(value, complain);
  if (record.messages !== undefined) {
    const messages = messagesOf(record.messages, 'messages', complain);
    const last = messages.at(-1)!;
    if (last.role !== 'assistant') {
      throw complain('messages', `must end with an assistant message (it is the completion to learn), got a "${last.role}" message last`);
    }
    return { ...rendered(() => splitChat(messages, template), 'messages', complain), messages };
  }
  if (record.text !== undefined && record.prompt === undefined && record.completion === undefined) {
    return { prompt: '', completion: stringField(record, 'text', complain) };
  }
  return { prompt: promptField(record, 'prompt', complain, template), completion: responseField(record, 'completion', complain) };
}

/** A preference record from `{prompt, chosen, rejected}` (strings, or the conversational form, rendered as sftRecord does). Throws DatasetError. */
export function preferenceRecord(value: unknown, site: RecordSite = { file: 'record' }, template?: ChatTemplate): PreferenceRecord {
  const complain = complainer(site, 'preference');
  const record = objectOf(value, complain);
  return {
    prompt: promptField(record, 'prompt', complain, template),
    chosen: responseField(record, 'chosen', complain),
    rejected: responseField(record, 'rejected', complain),
  };
}

/** A prompt record from `{prompt, ...columns}` (the prompt a string or a conversation, rendered as sftRecord does; the columns kept). Throws DatasetError. */
export function promptRecord(value: unknown, site: RecordSite = { file: 'record' }, template?: ChatTemplate): PromptRecord {
  const complain = complainer(site, 'prompt');
  const record = objectOf(value, complain);
  return { ...record, prompt: promptField(record, 'prompt', complain, template) };
}

/**
 * A problem record from `{question, solution, answer}`: `answer` a number or a numeric string,
 * and the solution's own final answer (read after its last "The answer is", as the policy's
 * answers are) equal to it, so a typo in either is caught at load time. Throws DatasetError.
 */
export function problemRecord(value: unknown, site: RecordSite = { file: 'record' }): ProblemRecord {
  const complain = complainer(site, 'problem');
  const record = objectOf(value, complain);
  const question = stringField(record, 'question', complain);
  const solution = stringField(record, 'solution', complain);
  const answer = numberField(record, 'answer', complain);
  const stated = extractAnswer(solution);
  if (stated === undefined) {
    throw complain(
      'solution',
      `has no "The answer is <number>"; the policy learns to end its solutions that way and is judged by it, so end the solution with "The answer is ${answer}"`,
    );
  }
  if (stated !== answer) {
    throw complain('solution', `says "The answer is ${stated}" but field "answer" is ${answer}; correct whichever is wrong so they agree`);
  }
  return { question, solution, answer };
}

/** A rewrite record from `{question, prediction, rewrite}` (all strings, kept exactly). Throws DatasetError. */
export function rewriteRecord(value: unknown, site: RecordSite = { file: 'record' }): RewriteRecord {
  const complain = complainer(site, 'rewrite');
  const record = objectOf(value, complain);
  return {
    question: stringField(record, 'question', complain),
    prediction: stringField(record, 'prediction', complain),
    rewrite: stringField(record, 'rewrite', complain),
  };
}
