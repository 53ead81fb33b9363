import { defineSearchAttributeKey } from '@temporalio/common';

/**
 * Custom search attributes longrun keeps on every task, so the Temporal CLI and Web UI can filter,
 * e.g. `temporal workflow list --query 'LongrunState="executing"'`.
 */
export const LongrunState = defineSearchAttributeKey('LongrunState', 'KEYWORD');
export const LongrunAgent = defineSearchAttributeKey('LongrunAgent', 'KEYWORD');
export const LongrunDurability = defineSearchAttributeKey('LongrunDurability', 'KEYWORD');
export const LongrunPhase = defineSearchAttributeKey('LongrunPhase', 'KEYWORD');
/** Whole percent, 0 to 100. */
export const LongrunProgress = defineSearchAttributeKey('LongrunProgress', 'INT');

export const LONGRUN_SEARCH_ATTRIBUTES = [
  LongrunState,
  LongrunAgent,
  LongrunDurability,
  LongrunPhase,
  LongrunProgress,
] as const;

/** A search-attribute type as the Temporal CLI spells it (`--type Keyword`, `--search-attribute K=Int`). */
export function cliTypeName(type: string): string {
  return type === 'KEYWORD_LIST' ? 'KeywordList' : type.charAt(0) + type.slice(1).toLowerCase();
}
