// Conversations (TRL's conversational format: lists of {role, content}) rendered as plain
// text, so every trainer tokenizes them the same way and users can see exactly what the
// model reads. The template is deliberately simple: each message is
//
//   <|role|>\n{content}\n
//
// and a prompt that asks the model to answer ends with the assistant's header "<|assistant|>\n".
import { ConfigError } from '../errors.js';

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

/** Every message as "<|role|>\n{content}\n", in order. */
export function renderChatMessages(messages: readonly ChatMessage[]): string {
  return messages.map((m) => `${chatHeader(m.role)}${m.content}\n`).join('');
}

/** What the model continues to answer the conversation: the messages, then "<|assistant|>\n". */
export function renderChatPrompt(messages: readonly ChatMessage[]): string {
  return renderChatMessages(messages) + chatHeader('assistant');
}

/**
 * A conversation whose last message is the assistant's, as the prompt that leads to that
 * message (every earlier message, then the assistant's header) and the completion (its
 * content). Trainers end the completion with the tokenizer's EOS token, as for any completion.
 */
export function splitChat(messages: readonly ChatMessage[]): { prompt: string; completion: string } {
  const last = messages.at(-1);
  if (!last || last.role !== 'assistant') {
    throw new ConfigError(`splitChat: the last message must be the assistant's (it becomes the completion); got ${last ? `a "${last.role}" message` : 'no messages'}`);
  }
  return { prompt: renderChatPrompt(messages.slice(0, -1)), completion: last.content };
}
