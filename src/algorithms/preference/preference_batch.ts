// Preference pairs as one batch of 2P rows, chosen rows first: what the Bradley–Terry and
// DPO losses read (row p is chosen, row P + p its rejected).
import { responseBatch, type ResponseBatch } from '../../text/response_batch.js';

export interface EncodedPreference {
  prompt: number[];
  chosen: number[];
  rejected: number[];
}

export function preferenceBatch(pairs: EncodedPreference[], pad: number): ResponseBatch {
  return responseBatch([...pairs.map((p) => ({ prompt: p.prompt, response: p.chosen })), ...pairs.map((p) => ({ prompt: p.prompt, response: p.rejected }))], pad);
}
