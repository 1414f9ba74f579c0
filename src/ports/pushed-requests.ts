/** A pushed authorization request (RFC 9126), kept until its request_uri is used once or expires. */
export interface PushedRequestRecord {
  /** tokenHash of the request_uri; the request_uri itself is never stored. */
  uriHash: string;
  clientId: string;
  /** The authorization parameters as pushed (already validated once). */
  params: Record<string, string>;
  createdAt: number;
  expiresAt: number;
}

export interface PushedRequestStore {
  create(record: PushedRequestRecord): Promise<void>;
  /**
   * Atomic single use: deletes and returns the request for exactly one caller, and only when it
   * belongs to `clientId` and has not expired at `now`. Anything else returns undefined and leaves
   * the row alone (a wrong client cannot burn another client's request_uri).
   */
  consume(uriHash: string, clientId: string, now: number): Promise<PushedRequestRecord | undefined>;
}
