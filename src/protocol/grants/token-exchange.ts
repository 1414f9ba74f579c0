import type { ClientRecord, TokenExchangePolicy } from '../../ports/clients.ts';
import { OAuthError, invalidRequest } from '../errors.ts';
import { isScopeToken, splitScope, type Params } from '../params.ts';
import { mintAccessToken, verifyAccessToken } from '../tokens/access-token.ts';
import { subjectFor } from '../tokens/subject.ts';
import { boundCertificate, type GrantHandler } from './grant.ts';

// Token exchange (RFC 8693), impersonation only: a confidential client trades an access token
// Tessera issued for a new one with another audience and the same or fewer scopes, as its
// per-client policy allows. Delegation (actor_token) is refused.

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** What the request asks for, checked against the client's policy before any token is looked at. */
export function exchangeTarget(policy: TokenExchangePolicy, params: Params): string {
  if (params.subject_token_type !== ACCESS_TOKEN_TYPE) throw invalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}.`);
  if (params.actor_token !== undefined || params.actor_token_type !== undefined) throw invalidRequest('Delegation (actor_token) is not supported.');
  if (params.requested_token_type !== undefined && params.requested_token_type !== ACCESS_TOKEN_TYPE) {
    throw invalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}.`);
  }
  if (params.audience !== undefined && params.resource !== undefined) throw invalidRequest('Send audience or resource, not both.');
  const target = params.audience ?? params.resource;
  if (target === undefined) throw invalidRequest('audience or resource is required.');
  if (!policy.audiences.includes(target)) throw new OAuthError('invalid_target', 'This client may not ask for tokens for that audience.');
  return target;
}

/** The scope of the new token: what was asked (default: all the subject token had that the client may hold), never more than either. */
export function exchangeScope(client: ClientRecord, subjectScope: string | undefined, requested: string | undefined): string {
  const held = splitScope(subjectScope);
  if (requested === undefined) return held.filter((s) => client.scopes.includes(s)).join(' ');
  const asked = splitScope(requested);
  for (const s of asked) {
    if (!isScopeToken(s) || !held.includes(s) || !client.scopes.includes(s)) throw new OAuthError('invalid_scope', `Scope ${s} is not available for this exchange.`);
  }
  return asked.join(' ');
}

export const tokenExchange: GrantHandler = {
  grantType: TOKEN_EXCHANGE_GRANT,
  parameters: new Set(['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'requested_token_type', 'audience', 'resource', 'scope']),
  allowPublic: false,
  async handle(p, req, params, client, ctx) {
    const policy = client.metadata.token_exchange;
    if (!policy) throw new OAuthError('unauthorized_client', 'This client has no token exchange policy.');
    if (!params.subject_token) throw invalidRequest('subject_token is required.');
    const audience = exchangeTarget(policy, params);
    // RFC 8693 section 2.2.2: an invalid or unacceptable subject token is invalid_request.
    const subject = await verifyAccessToken(p.keys(), p.config.issuer, params.subject_token);
    if (!subject || (await p.stores.revocations.isAccessTokenRevoked(subject.jti))) throw invalidRequest('subject_token is not an active access token.');
    if (!policy.subject_clients.includes('*') && !policy.subject_clients.includes(subject.client_id)) {
      throw invalidRequest('subject_token is not acceptable for this client.', `token of client ${subject.client_id}`);
    }
    const scope = exchangeScope(client, subject.scope, params.scope);
    const now = p.now();
    // The new token never outlives the one it was exchanged for.
    const ttl = Math.min(p.config.accessTokenTtl, subject.exp - now);
    if (ttl <= 0) throw invalidRequest('subject_token is not an active access token.');

    // A token from a user's grant: the new one joins that grant, so revoking the grant (consent
    // revoked, family reuse, user disabled) revokes it too. Its sub is the one the exchanging client
    // sees for that user (pairwise subjects are mapped through the grant's user id, never reversed);
    // a token without a grant (client credentials) keeps its sub, the client id.
    const grant = await p.stores.grants.findByAccessToken(subject.jti);
    const sub = grant ? subjectFor(p.config.secret, client, grant.userId) : subject.sub;
    const access = mintAccessToken(p.keys(), {
      issuer: p.config.issuer, sub, clientId: client.clientId, audience, scope, now, ttl, authTime: subject.auth_time,
      x5t: boundCertificate(ctx),
    });
    if (grant && !(await p.stores.grants.addAccessToken(grant.id, { jti: access.jti, expiresAt: access.expiresAt }))) {
      throw invalidRequest('subject_token is not an active access token.', 'grant revoked');
    }
    p.log.info({ event: 'token_exchanged', client_id: client.clientId, subject_client: subject.client_id, audience, ip: req.ip }, 'token exchanged');
    const res = { access_token: access.token, issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer' as const, expires_in: ttl, scope: scope || undefined };
    if (!scope) delete res.scope;
    return res;
  },
};
