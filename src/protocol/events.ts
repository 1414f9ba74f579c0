/**
 * What the protocol layer reports as it works, for metrics and the audit trail. The protocol only
 * emits; what listens is wired in app.ts. Events carry no token values or secrets. `ip` is the
 * client address of the request, where one is at hand.
 */
export type ProtocolEvent = (
  | { type: 'token_issued'; grantType: string; clientId: string; scope?: string }
  | { type: 'client_auth_failed'; clientId?: string }
  | { type: 'login_succeeded'; userId: string; clientId?: string }
  | { type: 'login_failed'; clientId?: string }
  | { type: 'login_throttled'; clientId?: string }
  | { type: 'code_reuse'; clientId: string }
  | { type: 'refresh_reuse'; clientId: string }
  | { type: 'token_revoked'; tokenType: 'access_token' | 'refresh_token'; clientId: string }
  | { type: 'consent_granted'; userId: string; clientId: string; scopes: string[] }
  | { type: 'consent_revoked'; userId: string; clientId: string }
  | { type: 'logout'; userId: string; clientId?: string }
  | { type: 'device_authorization_started'; clientId: string; scope: string }
  | { type: 'device_authorization_approved'; userId: string; clientId: string; scope: string }
  | { type: 'device_authorization_denied'; userId: string; clientId: string }
  | { type: 'device_user_code_failed' }
  | { type: 'device_user_code_throttled' }
) & { ip?: string };

export type EventSink = (event: ProtocolEvent) => void;

export const ignoreEvents: EventSink = () => {};
