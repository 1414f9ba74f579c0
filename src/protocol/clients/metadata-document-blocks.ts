// Operators' blocks of Client ID Metadata Document clients (`tessera client disable URL`). Such a
// client is never stored, so it cannot be disabled as a stored client is: its being out of service
// is a block (ports/client-blocks.ts), shared by every instance through the database. The wrapped
// client store (metadata-document.ts metadataDocumentClients) asks `MetadataDocumentBlocks` before
// anything else, so a blocked identifier's document is never fetched, and answers `blockedClient`:
// a disabled record with nothing in it a client could use (no redirect URIs, grant types, scopes or
// keys), made from the identifier alone, never from a document or a stored record.
import type { ClientBlock, ClientBlockStore } from '../../ports/client-blocks.ts';
import type { ClientRecord } from '../../ports/clients.ts';
import { randomToken, tokenHash } from '../hash.ts';

/**
 * The client a blocked metadata document identifier resolves to: disabled (so invalid_client at
 * the token endpoint and the unknown-application page at /authorize, as for a disabled stored
 * client), named after its host, marked as made from a metadata document (mode `cimd`, so never
 * written back and under the self-registered rules), and unable to do anything even where
 * `disabled` were not read.
 */
export function blockedClient(block: ClientBlock): ClientRecord {
  let name = block.clientId;
  try {
    name = new URL(block.clientId).host;
  } catch {
    // A block of an identifier that is not a URL still resolves (to a client named by it).
  }
  return {
    clientId: block.clientId,
    clientName: name,
    secretHash: null,
    tokenEndpointAuthMethod: 'none',
    applicationType: 'web',
    redirectUris: [],
    postLogoutRedirectUris: [],
    grantTypes: [],
    scopes: [],
    allowedResources: [],
    skipConsent: false,
    disabled: true,
    // The registration access token hash is of a token nobody holds: RFC 7592 management never accepts one.
    metadata: { registration: { mode: 'cimd', access_token_hash: tokenHash(randomToken(32)) } },
    createdAt: block.blockedAt,
    updatedAt: block.blockedAt,
  };
}

/**
 * The blocks as one process sees them: the whole (small) list, read from the store at most once per
 * `ttlMs` (TESSERA_CLIENT_CACHE_TTL, as stored clients are cached) and at once after a change made
 * through `store` here, so a block set elsewhere (the CLI, another instance) takes effect within the
 * client cache TTL. Reading the whole list keeps a request for an unknown identifier from costing a
 * database read. A failing store fails the lookup (never an unblocked answer).
 */
export class MetadataDocumentBlocks {
  readonly #store: ClientBlockStore;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #snapshot: { blocks: Map<string, ClientBlock>; until: number } | undefined;
  #loading: Promise<Map<string, ClientBlock>> | undefined;
  #generation = 0;
  /** Reads of the whole list from the store (for tests). */
  loads = 0;

  constructor(store: ClientBlockStore, ttlMs: number, now: () => number = Date.now) {
    this.#store = store;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /** The block of `clientId`, if it is blocked. */
  async find(clientId: string): Promise<ClientBlock | undefined> {
    return (await this.#blocks()).get(clientId);
  }

  /** The store, each change through it seen here at once. */
  get store(): ClientBlockStore {
    const forgetting =
      <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        this.forget();
        try {
          return await fn(...args);
        } finally {
          this.forget();
        }
      };
    const s = this.#store;
    return {
      has: (clientId) => s.has(clientId),
      list: () => s.list(),
      add: forgetting((clientId: string, at: number) => s.add(clientId, at)),
      remove: forgetting((clientId: string) => s.remove(clientId)),
    };
  }

  /** Drops this process's copy of the list (a change made through other stores, e.g. a transaction's). */
  forget(): void {
    this.#generation++;
    this.#snapshot = undefined;
    this.#loading = undefined;
  }

  #blocks(): Promise<Map<string, ClientBlock>> {
    const snapshot = this.#snapshot;
    if (snapshot && snapshot.until > this.#now()) return Promise.resolve(snapshot.blocks);
    if (this.#loading !== undefined) return this.#loading;
    const generation = this.#generation;
    this.loads++;
    const loading = this.#store
      .list()
      .then((list) => {
        const blocks = new Map(list.map((b) => [b.clientId, b]));
        // A list read before a change made here is not kept.
        if (generation === this.#generation && this.#ttlMs > 0)
          this.#snapshot = { blocks, until: this.#now() + this.#ttlMs };
        return blocks;
      })
      .finally(() => {
        if (this.#loading === loading) this.#loading = undefined;
      });
    this.#loading = loading;
    return loading;
  }
}
