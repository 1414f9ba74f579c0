/**
 * Operators' blocks of client identifiers that are never stored: Client ID Metadata Document URLs
 * (protocol/clients/metadata-document.ts). A block is the identifier and when it was set, nothing
 * else: a blocked identifier resolves to a disabled client without its document being fetched, and
 * nothing of a block can stand in for the document (no redirect URIs, keys or names are kept).
 */
export interface ClientBlock {
  clientId: string;
  /** When the block was set, in epoch seconds. */
  blockedAt: number;
}

export interface ClientBlockStore {
  /** Whether the identifier is blocked. */
  has(clientId: string): Promise<boolean>;
  /** Every block, ordered by client id. */
  list(): Promise<ClientBlock[]>;
  /** Blocks the identifier; one already blocked keeps its first blockedAt. True when it was not blocked. */
  add(clientId: string, at: number): Promise<boolean>;
  /** Lifts the block; false when there was none. */
  remove(clientId: string): Promise<boolean>;
}
