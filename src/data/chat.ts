// Conversations (TRL's conversational format: lists of {role, content}) rendered as plain
// text, so every trainer tokenizes them the same way and users can see exactly what the
// model reads. With a tokenizer's chat template (ChatTemplate, from tokenizer_config.json)
// they are rendered as transformers renders them; without one (the built-in tasks, the byte
// tokenizer) the built-in template is deliberately simple: each message is
//
//   <|role|>\n{content}\n
//
// and a prompt that asks the model to answer ends with the assistant's header "<|assistant|>\n".
import { ConfigError } from '../errors.js';
import type { ChatTemplate } from '../text/chat_template.js';

export type ChatRole = 'system' | 'user' | 'assistant';

export const CHAT_ROLES: readonly ChatRole[] = ['system', 'user', 'assistant'];

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** The header that starts a message of `role`: "<|user|>\n". */
export function chatHeader(role: ChatRole): string {
  return `<|${role}|>\n`;
}

/** Every message, in order: rendered by `template`, or each as "<|role|>\n{content}\n". */
export function renderChatMessages(messages: readonly ChatMessage[], template?: ChatTemplate): string {
  if (template) return template.render(messages);
  return messages.map((m) => `${chatHeader(m.role)}${m.content}\n`).join('');
}

/** What the model continues to answer the conversation: `template`'s generation prompt, or the messages then "<|assistant|>\n". */
export function renderChatPrompt(messages: readonly ChatMessage[], template?: ChatTemplate): string {
  if (template) return template.render(messages, { addGenerationPrompt: true });
  return renderChatMessages(messages) + chatHeader('assistant');
}

/** A piece of a rendered conversation: `train` marks an assistant's turn; `endOfTurn` asks for the tokenizer's EOS after it. */
export interface ChatSegment {
  text: string;
  train: boolean;
  endOfTurn: boolean;
}

/**
 * The conversation rendered and cut at its assistants' turns (TRL's assistant_only_loss): with
 * `template`, each turn as the template writes it up to its end-of-turn token
 * (ChatTemplate.assistantSpans); with the built-in template, each assistant's content,
 * followed by the tokenizer's EOS as completions are.
 */
export function chatSegments(messages: readonly ChatMessage[], template?: ChatTemplate): ChatSegment[] {
  const segments: ChatSegment[] = [];
  const push = (text: string, train: boolean, endOfTurn = false) => {
    if (text || endOfTurn) segments.push({ text, train, endOfTurn });
  };
  if (template) {
    const { text, spans } = template.assistantSpans(messages);
    let at = 0;
    for (const s of spans) {
      push(text.slice(at, s.start), false);
      push(text.slice(s.start, s.end), true);
      at = s.end;
    }
    push(text.slice(at), false);
    return segments;
  }
  for (const m of messages) {
    push(chatHeader(m.role), false);
    if (m.role === 'assistant') push(m.content, true, true);
    else push(m.content, false);
    push('\n', false);
  }
  return segments;
}

/**
 * A conversation whose last message is the assistant's, as the prompt that leads to that
 * message (every earlier message, then the assistant's header) and the completion (its
 * content). Trainers end the completion with the tokenizer's EOS token, as for any completion.
 * With `template`: the rendered conversation cut where the assistant's text starts
 * (ChatTemplate.assistantSpans); the completion is what the template writes for it up to its
 * EOS token, which is left off since trainers append it.
 */
export function splitChat(messages: readonly ChatMessage[], template?: ChatTemplate): { prompt: string; completion: string } {
  const last = messages.at(-1);
  if (!last || last.role !== 'assistant') {
    throw new ConfigError(`splitChat: the last message must be the assistant's (it becomes the completion); got ${last ? `a "${last.role}" message` : 'no messages'}`);
  }
  if (!template) return { prompt: renderChatPrompt(messages.slice(0, -1)), completion: last.content };
  const { text, spans } = template.assistantSpans(messages);
  const span = spans.at(-1)!;
  const eos = template.specialTokens.eos_token;
  const written = text.slice(span.start, span.end);
  return { prompt: text.slice(0, span.start), completion: eos && written.endsWith(eos) ? written.slice(0, -eos.length) : written };
}
