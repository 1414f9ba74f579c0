import type { UserRecord } from './users.ts';

export interface CodeRecord {
  /** timeOrderedKey of the code (protocol/hash.ts). */
  codeHash: string;
  /** The grant (token family) the code will start; known up front so a replay can revoke it. */
  grantId: string;
  clientId: string;
  userId: string;
  redirectUri: string;
  scope: string;
  nonce: string | null;
  /** The PKCE S256 challenge; '' for a code issued without one (a client's PKCE opt-out, protocol/pkce.ts). */
  codeChallenge: string;
  resource: string | null;
  sid: string;
  authTime: number;
  amr: string[];
  createdAt: number;
  expiresAt: number;
  /** RFC 9449 section 10: the JWK thumbprint of the DPoP key the code is bound to (dpop_jkt). */
  dpopJkt?: string | null;
  /** RFC 9396: the authorization_details the user approved (JSON array text), if any. */
  authorizationDetails?: string | null;
  /** OIDC Core 5.5: the user claims the authorization request's `claims` parameter asked for. */
  claims?: { id_token: string[]; userinfo: string[]; acr?: string[] } | null;
}

export type ConsumeResult =
  /**
   * The first use. `user`: the code's user as read with it, as users.get would answer then
   * (undefined: no such user), so that the redemption need not read the user again.
   */
  | { status: 'ok'; code: CodeRecord; user: UserRecord | undefined }
  /**
   * Already redeemed: the caller must revoke code.grantId. The replay is marked on the code before
   * this is returned (GrantStore.create reads the mark, `redeemedCode`).
   */
  | { status: 'reused'; code: CodeRecord }
  | { status: 'missing' };

export interface CodeStore {
  create(code: CodeRecord): Promise<void>;
  /**
   * Atomic single use: exactly one caller gets 'ok' for a code, with the code's user read in the
   * same statement (PostgreSQL) or transaction (SQLite). Every other caller gets 'reused' (or
   * 'missing'), and a 'reused' has marked the code as replayed when it returns.
   */
  consume(codeHash: string, now: number): Promise<ConsumeResult>;
}
