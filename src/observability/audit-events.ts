import { hash } from 'node:crypto';
import type { AuditEvent } from '../ports/audit.ts';
import type { ProtocolEvent } from '../protocol/events.ts';

const FAILURES = new Set([
  'client_auth_failed',
  'login_failed',
  'login_throttled',
  'code_reuse',
  'refresh_reuse',
  'dpop_proof_refused',
  'dpop_replay',
  'certificate_binding_refused',
  'device_user_code_failed',
  'device_user_code_throttled',
  'id_token_hint_refused',
  'registration_refused',
  'backchannel_logout_failed',
  'signup_refused',
  'token_exchange_refused',
  'fapi_refused',
  'second_factor_failed',
  'second_factor_throttled',
  'passkey_login_failed',
  'password_reset_failed',
  'mail_failed',
]);

/**
 * How the audit trail names a client id that no client has (a failed authentication, a refused
 * registration management request): the first 12 hex digits of its SHA-256, never the text the
 * sender chose. An operator can compute it for an id they suspect (`printf %s ID | sha256sum`).
 */
export function unknownClientRef(clientId: string): string {
  return hash('sha256', clientId, 'hex').slice(0, 12);
}

/**
 * A protocol event as an audit record: the actor is the user where there is one, else the client;
 * details hold only non-secret facts (grant type, scopes, token type), never a token or secret.
 */
export function toAuditEvent(e: ProtocolEvent, at: number): AuditEvent {
  // A refused admin action is recorded under the action's event, as the action's successes are.
  if (e.type === 'admin_action_refused')
    return {
      at,
      type: e.event,
      actor: e.by,
      clientId: e.clientId ?? null,
      ip: e.ip ?? null,
      outcome: 'failure',
      details: { action: e.action, via: e.via, principal: e.principal, reason: e.reason },
    };
  const base = {
    at,
    type: e.type,
    ip: e.ip ?? null,
    outcome: FAILURES.has(e.type) ? ('failure' as const) : ('success' as const),
  };
  const clientId = e.type !== 'registration_refused' && 'clientId' in e ? (e.clientId ?? null) : null;
  // An operator's action on an account: the operator is the actor, the account is in the details.
  const userId = 'actor' in e ? e.actor : 'userId' in e ? e.userId : null;
  let details: AuditEvent['details'] = {};
  switch (e.type) {
    case 'token_issued':
      details = { grant_type: e.grantType, scope: e.scope ?? null };
      break;
    case 'token_revoked':
      details = { token_type: e.tokenType };
      break;
    case 'consent_granted':
      details = {
        scope: e.scopes.join(' '),
        ...(e.authorizationDetailsTypes ? { authorization_details_types: e.authorizationDetailsTypes.join(' ') } : {}),
      };
      break;
    case 'dpop_proof_refused':
    case 'fapi_refused':
    case 'id_token_hint_refused':
    case 'signup_refused':
      details = { reason: e.reason };
      break;
    case 'key_prepublished':
      details = {
        kid: e.kid,
        alg: e.alg,
        trigger: e.trigger,
        activates_at: new Date(e.activatesAt * 1000).toISOString(),
      };
      break;
    case 'key_rotated':
      details = { kid: e.kid, alg: e.alg, trigger: e.trigger, previous: e.previous, prepublished: e.prepublished };
      break;
    case 'key_retired':
      details = { kid: e.kid, alg: e.alg, trigger: e.trigger };
      break;
    case 'audit_exported':
      details = { format: e.format, count: e.count };
      break;
    case 'audit_verified':
      details = { ok: e.ok };
      break;
    case 'client_auth_failed':
      details = {
        ...(e.method ? { method: e.method } : {}),
        ...(e.reason ? { reason: e.reason } : {}),
        ...(e.unknownClient !== undefined ? { unknown_client: unknownClientRef(e.unknownClient) } : {}),
      };
      break;
    case 'device_authorization_started':
    case 'device_authorization_approved':
      details = { scope: e.scope };
      break;
    case 'client_registered':
      details = { mode: e.mode, auth_method: e.authMethod, disabled: e.disabled };
      break;
    case 'client_updated':
      details = { auth_method: e.authMethod };
      break;
    // The client id of a management request comes from its URL, refused before any client is found.
    case 'registration_refused':
      details = {
        reason: e.reason,
        ...(e.clientId !== undefined ? { unknown_client: unknownClientRef(e.clientId) } : {}),
      };
      break;
    case 'backchannel_logout_delivered':
      details = { attempts: e.attempts };
      break;
    case 'backchannel_logout_failed':
      details = { attempts: e.attempts, reason: e.reason };
      break;
    case 'token_exchanged':
      details = {
        subject_token_type: e.subjectTokenType,
        actor_token_type: e.actorTokenType ?? null,
        audience: e.audience,
      };
      break;
    case 'token_exchange_refused':
      details = { role: e.role, reason: e.reason };
      break;
    case 'factor_added':
    case 'factor_removed':
      details = { kind: e.kind, factor_id: e.factorId, ...('by' in e ? { by: e.by } : {}) };
      break;
    case 'factor_renamed':
      details = { factor_id: e.factorId };
      break;
    case 'second_factor_succeeded':
      details = { kind: e.kind };
      break;
    case 'second_factor_failed':
      details = { kind: e.kind, reason: e.reason };
      break;
    case 'passkey_login_failed':
    case 'password_reset_failed':
      details = { reason: e.reason };
      break;
    case 'step_up':
      details = e.acr ? { acr: e.acr } : {};
      break;
    case 'password_changed':
    case 'account_deleted':
      details = { by: e.by };
      break;
    case 'sessions_ended':
      details = { count: e.count, by: e.by };
      break;
    case 'mfa_required_set':
      details = { user_id: e.userId, required: e.required };
      break;
    case 'mfa_reset':
    case 'user_unlocked':
      details = { user_id: e.userId };
      break;
    case 'mail_failed':
      details = { template: e.template, attempts: e.attempts, reason: e.reason };
      break;
    // Issue 17: which upstream provider an operator saved or deleted, or an identity was unlinked from.
    case 'upstream_saved':
    case 'upstream_deleted':
      details = { provider: e.provider };
      break;
    case 'upstream_unlinked':
      details = { provider: e.provider, by: e.by };
      break;
    // The account a failed or throttled sign-in named: its user id, or that none has that name.
    case 'login_failed':
    case 'login_throttled':
      details = e.targetUserId ? { user_id: e.targetUserId } : { account: 'unknown' };
      break;
  }
  return { ...base, actor: userId ?? clientId, clientId, details };
}
