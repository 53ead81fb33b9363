/**
 * How model calls live in the artifact store, so that history and heartbeats carry only references:
 *
 * - a conversation is a chain of message nodes `{ prev, message }`; a conversation that grows writes
 *   only its new messages (the store skips blobs it holds), and its tip names all of it;
 * - a call record `{ key, request, answer, ... }` is what one answered call returned, its answer a
 *   message node after the request's tip: the conversation that goes on with that answer shares it;
 * - a journal is a chain of links `{ prev, call }`: the calls a step made since its last checkpoint.
 *
 * Every blob is JSON addressed by its SHA-256.
 */
import { createHash } from 'node:crypto';
import type { Artifacts } from '../../runtime/artifact-store';
import type { ModelUsage } from '../../shared/model-usage';
import type { ArtifactRef, ModelJournal } from '../../shared/step-io';
import type { ChatCompletion, ChatMessage, ToolDefinition } from '../llm/llm-client';

const JSON_TYPE = 'application/json';

interface MessageNode {
  prev: string | null;
  message: ChatMessage;
}

interface JournalLink {
  prev: string | null;
  call: string;
}

/** The request of a call, by reference: its conversation's tip and its tools' blob. */
export interface CallRequest {
  model: string;
  /** Tip of the conversation sent; null for none. */
  tip: string | null;
  messages: number;
  tools: string | null;
  maxTokens?: number;
  temperature?: number;
}

/** One answered call, as stored. */
export interface CallRecord {
  /** Names the whole request: two calls with the same key asked the same thing. */
  key: string;
  request: CallRequest;
  /** The message node of the answer (its `prev` is the request's tip). */
  answer: string;
  response: Omit<ChatCompletion, 'content' | 'toolCalls'>;
  usage: ModelUsage;
}

/** The assistant message of an answer, as a conversation goes on with it. */
export function answerMessage(completion: Pick<ChatCompletion, 'content' | 'toolCalls'>): ChatMessage {
  return completion.toolCalls.length
    ? { role: 'assistant', content: completion.content || null, tool_calls: completion.toolCalls }
    : { role: 'assistant', content: completion.content };
}

/** A reference to a blob known only by its hash (the store reads by hash and verifies it). */
function refOf(sha256: string, name: string): ArtifactRef {
  return { sha256, bytes: 0, name, mediaType: JSON_TYPE };
}

export function keyOf(request: CallRequest): string {
  const { model, tip, tools, maxTokens, temperature } = request;
  return createHash('sha256')
    .update(JSON.stringify({ model, tip, tools, maxTokens, temperature }))
    .digest('hex');
}

/** Reads and writes conversations, call records and journals in one step's artifact store. */
export class ModelRecords {
  /** The last conversation stored, message by message: the next one usually extends it. */
  private lastConversation: { json: string; sha: string }[] = [];
  private lastTools: { json: string; sha: string } | null = null;

  constructor(private readonly store: Artifacts) {}

  /** Stores a conversation (only the messages not stored yet) and returns its tip, null when empty. */
  async saveConversation(messages: readonly ChatMessage[]): Promise<string | null> {
    let prev: string | null = null;
    let shared = true; // still on the prefix this conversation shares with the last one
    const stored: { json: string; sha: string }[] = [];
    for (const [i, message] of messages.entries()) {
      const json = JSON.stringify(message);
      const known = this.lastConversation[i];
      if (shared && known?.json === json) {
        prev = known.sha;
      } else {
        shared = false;
        const node: MessageNode = { prev, message };
        prev = (await this.store.putJson(node, 'model-message')).sha256;
      }
      stored.push({ json, sha: prev });
    }
    this.lastConversation = stored;
    return prev;
  }

  /** The messages of a conversation stored by `saveConversation`, oldest first. */
  async loadConversation(tip: string | null): Promise<ChatMessage[]> {
    const out: ChatMessage[] = [];
    for (let at = tip; at !== null;) {
      const node = await this.store.getJson<MessageNode>(refOf(at, 'model-message'));
      out.push(node.message);
      at = node.prev;
    }
    return out.reverse();
  }

  /** Stores the answer to the conversation at `tip` as the node after it (the next request shares it). */
  async saveAnswer(tip: string | null, message: ChatMessage): Promise<string> {
    const sha = (await this.store.putJson({ prev: tip, message } satisfies MessageNode, 'model-message'))
      .sha256;
    const last = this.lastConversation.at(-1);
    if ((last?.sha ?? null) === tip) this.lastConversation.push({ json: JSON.stringify(message), sha });
    return sha;
  }

  /** The message of one node. */
  async message(sha: string): Promise<ChatMessage> {
    return (await this.store.getJson<MessageNode>(refOf(sha, 'model-message'))).message;
  }

  async saveTools(tools: readonly ToolDefinition[] | undefined): Promise<string | null> {
    if (!tools?.length) return null;
    const json = JSON.stringify(tools);
    if (this.lastTools?.json === json) return this.lastTools.sha;
    const sha = (await this.store.put(json, { name: 'model-tools', mediaType: JSON_TYPE })).sha256;
    this.lastTools = { json, sha };
    return sha;
  }

  async saveCall(record: CallRecord): Promise<string> {
    return (await this.store.putJson(record, 'model-call')).sha256;
  }

  /** Adds a call to a journal: the new journal. */
  async append(journal: ModelJournal, call: string): Promise<ModelJournal> {
    const link: JournalLink = { prev: journal.head, call };
    return { head: (await this.store.putJson(link, 'model-journal')).sha256, n: journal.n + 1 };
  }

  /** The call records of a journal, oldest first, each with its hash. */
  async calls(journal: ModelJournal | undefined): Promise<{ sha: string; record: CallRecord }[]> {
    const out: { sha: string; record: CallRecord }[] = [];
    for (let at = journal?.head ?? null; at !== null;) {
      const link = await this.store.getJson<JournalLink>(refOf(at, 'model-journal'));
      out.push({
        sha: link.call,
        record: await this.store.getJson<CallRecord>(refOf(link.call, 'model-call')),
      });
      at = link.prev;
    }
    return out.reverse();
  }
}
