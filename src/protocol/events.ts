/**
 * What the protocol layer reports as it works, for metrics now and the audit trail later. The
 * protocol only emits; what listens is wired in app.ts. Events carry no token values or secrets.
 */
export type ProtocolEvent =
  | { type: 'token_issued'; grantType: string; clientId: string }
  | { type: 'client_auth_failed'; clientId?: string }
  | { type: 'login_succeeded'; userId: string }
  | { type: 'login_failed' }
  | { type: 'login_throttled' }
  | { type: 'code_reuse'; clientId: string }
  | { type: 'refresh_reuse'; clientId: string }
  | { type: 'token_revoked'; tokenType: 'access_token' | 'refresh_token'; clientId: string };

export type EventSink = (event: ProtocolEvent) => void;

export const ignoreEvents: EventSink = () => {};
