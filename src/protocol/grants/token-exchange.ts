import { decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { adminAudience, isAdminScope } from '../admin-scopes.ts';
import { directoryClaims, prepareDirectoryClaims } from '../directory-claims.ts';
import { audienceOf } from '../tokens/resource-token.ts';
import type { ClientRecord, TokenExchangePolicy, TokenExchangeTokenType, TrustedIssuer } from '../../ports/clients.ts';
import { clientKeys, verifyWithClientKeys } from '../client-auth/client-keys.ts';
import { OAuthError, invalidRequest } from '../errors.ts';
import { tokenHash } from '../hash.ts';
import { findRefreshToken } from './user-tokens.ts';
import { isScopeToken, splitScope, type Params } from '../params.ts';
import type { Provider } from '../provider.ts';
import type { Stores } from '../../ports/index.ts';
import type { Config } from '../../config/config.ts';
import { keyResolver, mintAccessToken, verifyAccessToken, type ActClaim } from '../tokens/access-token.ts';
import { subjectFor } from '../tokens/subject.ts';
import { boundCertificate, tokenResponse, type DepsOf, type GrantContext, type GrantHandler } from './grant.ts';

// Token exchange (RFC 8693): a confidential client trades a token (subject_token) for a new access
// token with another audience and the same or fewer scopes, as its per-client policy allows.
// Impersonation by default; with an actor_token and a policy allowing delegation, the new token
// names the actor in `act`, earlier actors of the subject token nested inside (section 4.1).

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const URN = 'urn:ietf:params:oauth:token-type:';

/** What the token-exchange grant uses of the provider, and the client key sets of trusted issuers. */
export type TokenExchangeDeps = Pick<Provider, 'now' | 'keys' | 'events' | 'log' | 'pairwiseKeys'> & {
  readonly config: Pick<Config, 'issuer' | 'pairwiseSecret' | 'accessTokenTtl' | 'clockSkew'>;
  readonly stores: Pick<Stores, 'revocations' | 'grants' | 'users' | 'clients' | 'replay'>;
} & DepsOf<typeof clientKeys> &
  DepsOf<typeof verifyAccessToken> &
  DepsOf<typeof prepareDirectoryClaims>;
export const ACCESS_TOKEN_TYPE = `${URN}access_token`;
export const REFRESH_TOKEN_TYPE = `${URN}refresh_token`;
export const ID_TOKEN_TYPE = `${URN}id_token`;
export const JWT_TOKEN_TYPE = `${URN}jwt`;
const TYPES: ReadonlyMap<string, TokenExchangeTokenType> = new Map([
  [ACCESS_TOKEN_TYPE, 'access_token'],
  [REFRESH_TOKEN_TYPE, 'refresh_token'],
  [ID_TOKEN_TYPE, 'id_token'],
  [JWT_TOKEN_TYPE, 'jwt'],
]);
/** Algorithms accepted from a trusted issuer that names none (RFC 8725, FAPI 2.0: no RS256 unless listed). */
export const DEFAULT_EXTERNAL_ALGS = ['PS256', 'ES256', 'EdDSA'];
/** Longest `act` chain accepted in a subject token, and so issued (actors nested in actors). */
export const MAX_ACT_DEPTH = 5;
const MAX_CLAIM_LENGTH = 255;

/** What the request asks for, checked against the client's policy before any token is looked at. */
export interface ExchangeRequest {
  audience: string;
  subjectType: TokenExchangeTokenType;
  actorType?: TokenExchangeTokenType;
  /** The URI of the token type issued (RFC 8693 issued_token_type). */
  issuedType: string;
}

/** A subject or actor token once verified: whom it names and what it carries. */
export interface Party {
  sub: string;
  /** The Tessera client it was issued to; for an external JWT, its `client_id` claim if any. */
  clientId?: string;
  /** External JWTs only: their issuer. */
  iss?: string;
  scope?: string;
  /** When it expires (seconds). */
  exp: number;
  authTime?: number;
  /** Its own act chain (earlier actors), when it has one. */
  act?: ActClaim;
  /** RFC 8693 section 4.4: who may act for it; as found in the token (checked by mayActAllows). */
  mayAct?: unknown;
  /** The user's grant it belongs to (access and refresh tokens), which the new token joins. */
  grantId?: string;
  /** The Tessera user it names, when known (its `sub` may be that user's pairwise subject for another client). */
  userId?: string;
}

const tokenTypes = (policy: TokenExchangePolicy) => policy.token_types ?? ['access_token'];

function tokenType(policy: TokenExchangePolicy, uri: string | undefined, name: string): TokenExchangeTokenType {
  const type = uri === undefined ? undefined : TYPES.get(uri);
  if (!type) throw invalidRequest(`${name} must be one of ${[...TYPES.keys()].join(', ')}.`);
  if (!tokenTypes(policy).includes(type)) throw invalidRequest(`${name} ${uri} is not accepted for this client.`);
  return type;
}

export function exchangeRequest(policy: TokenExchangePolicy, params: Params): ExchangeRequest {
  const subjectType = tokenType(policy, params.subject_token_type, 'subject_token_type');
  let actorType: TokenExchangeTokenType | undefined;
  if (params.actor_token !== undefined || params.actor_token_type !== undefined) {
    // Section 2.1: actor_token_type is required with actor_token and must not come without it.
    if (params.actor_token === undefined || params.actor_token_type === undefined)
      throw invalidRequest('actor_token and actor_token_type go together.');
    if (policy.delegation !== true)
      throw invalidRequest('This client may not exchange tokens for delegation (actor_token).');
    actorType = tokenType(policy, params.actor_token_type, 'actor_token_type');
  }
  const requested = params.requested_token_type ?? ACCESS_TOKEN_TYPE;
  // Tessera's access tokens are JWTs (RFC 9068), so a client asking for `jwt` gets one, labelled so.
  if (requested !== ACCESS_TOKEN_TYPE && requested !== JWT_TOKEN_TYPE) {
    throw invalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE} or ${JWT_TOKEN_TYPE}.`);
  }
  if (params.audience !== undefined && params.resource !== undefined)
    throw invalidRequest('Send audience or resource, not both.');
  const audience = params.audience ?? params.resource;
  if (audience === undefined) throw invalidRequest('audience or resource is required.');
  // RFC 8707 lets resource repeat (readParams joins the values with spaces); an exchange issues one
  // token for one audience, so several values are refused.
  if (/\s/.test(audience))
    throw invalidRequest('Send one audience or resource value: an exchange issues a token for one audience.');
  if (!policy.audiences.includes(audience))
    throw new OAuthError('invalid_target', 'This client may not ask for tokens for that audience.');
  return { audience, subjectType, actorType, issuedType: requested };
}

/**
 * The scope of the new token: what was asked (default: all the subject token had that the client
 * and its policy allow), never more than the subject token, the client or the policy.
 */
export function exchangeScope(
  client: ClientRecord,
  subjectScope: string | undefined,
  requested: string | undefined,
  policy?: TokenExchangePolicy,
): string {
  const held = splitScope(subjectScope);
  const allowed = (s: string) =>
    client.scopes.includes(s) && (policy?.scopes === undefined || policy.scopes.includes(s));
  if (requested === undefined) return held.filter(allowed).join(' ');
  const asked = splitScope(requested);
  for (const s of asked) {
    if (!isScopeToken(s) || !held.includes(s) || !allowed(s))
      throw new OAuthError('invalid_scope', `Scope ${s} is not available for this exchange.`);
  }
  return [...new Set(asked)].join(' ');
}

const shortString = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_CLAIM_LENGTH;

/**
 * An `act` claim as found in a token, reduced to the members Tessera keeps (sub, client_id, iss,
 * act); undefined when absent, null when malformed or nested deeper than `depth` allows.
 */
export function readAct(value: unknown, depth = MAX_ACT_DEPTH): ActClaim | undefined | null {
  if (value === undefined) return undefined;
  if (depth <= 0 || value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  if (!shortString(v.sub)) return null;
  const out: ActClaim = { sub: v.sub };
  for (const k of ['client_id', 'iss'] as const) {
    if (v[k] === undefined) continue;
    if (!shortString(v[k])) return null;
    out[k] = v[k];
  }
  if (v.act !== undefined) {
    const inner = readAct(v.act, depth - 1);
    if (!inner) return null;
    out.act = inner;
  }
  return out;
}

/** Section 4.1: the new actor outermost, the subject token's own chain (earlier actors) inside. */
export function actClaim(actor: Party, subjectAct: ActClaim | undefined): ActClaim {
  const act: ActClaim = { sub: actor.sub };
  if (actor.clientId) act.client_id = actor.clientId;
  if (actor.iss) act.iss = actor.iss;
  if (subjectAct) act.act = subjectAct;
  return act;
}

/** Depth of an act chain (1 for a single actor). */
export function actDepth(act: ActClaim | undefined): number {
  let n = 0;
  for (let a = act; a; a = a.act) n++;
  return n;
}

/**
 * Section 4.4: a subject token's `may_act` names who may act for it; every member it names (sub,
 * client_id, iss) must match the actor. A may_act without sub, or malformed, allows nobody.
 */
export function mayActAllows(mayAct: unknown, actor: Party): boolean {
  if (mayAct === undefined) return true;
  if (mayAct === null || typeof mayAct !== 'object' || Array.isArray(mayAct)) return false;
  const m = mayAct as Record<string, unknown>;
  if (typeof m.sub !== 'string' || m.sub !== actor.sub) return false;
  if (m.client_id !== undefined && m.client_id !== actor.clientId) return false;
  // An actor without iss was named by Tessera itself.
  if (m.iss !== undefined && m.iss !== actor.iss) return false;
  return true;
}

const listed = (list: readonly string[] | undefined, clientId: string | undefined) =>
  clientId !== undefined && list !== undefined && (list.includes('*') || list.includes(clientId));

/** Refusal of a subject or actor token (RFC 8693 section 2.2.2: invalid_request), reported as an event. */
class TokenRefused extends Error {
  readonly reason: string;
  constructor(reason: string, detail?: string) {
    super(detail ?? reason);
    this.reason = reason;
  }
}

/**
 * A sender-constrained token (RFC 9449 DPoP key, RFC 8705 certificate) is only good with a proof of
 * its key: the exchange request must itself carry it (its DPoP proof, or its TLS client certificate).
 */
export function possessionProven(ctx: GrantContext, bound: { jkt?: string | null; x5t?: string | null }): boolean {
  if (bound.jkt && ctx.dpop?.jkt !== bound.jkt) return false;
  if (bound.x5t && ctx.certThumbprint !== bound.x5t) return false;
  return true;
}

/**
 * An access token Tessera issued: signature, typ, issuer, expiry, revocation, its key binding proven; the grant it
 * joins.
 */
async function fromAccessToken(p: TokenExchangeDeps, ctx: GrantContext, token: string): Promise<Party> {
  const claims = await verifyAccessToken(p, token);
  if (!claims) throw new TokenRefused('invalid_access_token');
  if (await p.stores.revocations.isTokenRevoked(claims)) throw new TokenRefused('revoked');
  if (claims.cnf && !possessionProven(ctx, { jkt: claims.cnf.jkt, x5t: claims.cnf['x5t#S256'] }))
    throw new TokenRefused('sender_constrained');
  const act = readAct(claims.act);
  if (act === null) throw new TokenRefused('malformed_act');
  // An admin token is good for the admin API alone: it is never exchanged for another token.
  if (audienceOf(claims).includes(adminAudience(p.config.issuer)) || splitScope(claims.scope).some(isAdminScope))
    throw new TokenRefused('admin_token');
  const grant = await p.stores.grants.findByAccessToken(claims.jti);
  if (grant && grant.revokedAt !== null) throw new TokenRefused('revoked', 'grant revoked');
  return {
    sub: claims.sub,
    clientId: claims.client_id,
    scope: claims.scope,
    exp: claims.exp,
    authTime: claims.auth_time,
    act,
    mayAct: (claims as JWTPayload).may_act,
    grantId: grant?.id,
    userId: grant?.userId,
  };
}

/**
 * A refresh token Tessera issued, looked up by its hash: unused, unexpired, its key binding proven,
 * of a live grant and an enabled user. Only read, never rotated or consumed: the exchange leaves the family as it was.
 */
async function fromRefreshToken(p: TokenExchangeDeps, ctx: GrantContext, token: string, now: number): Promise<Party> {
  const found = await findRefreshToken(p.stores.grants, token);
  if (!found) throw new TokenRefused('invalid_refresh_token');
  const { refresh, grant } = found;
  if (grant.revokedAt !== null) throw new TokenRefused('revoked', 'grant revoked');
  if (!possessionProven(ctx, { jkt: grant.dpopJkt, x5t: grant.certThumbprint }))
    throw new TokenRefused('sender_constrained', 'bound refresh token without its proof');
  if (refresh.usedAt !== null) throw new TokenRefused('rotated', 'refresh token already rotated');
  const exp = Math.min(refresh.expiresAt, grant.expiresAt);
  if (exp <= now) throw new TokenRefused('expired');
  const user = await p.stores.users.get(grant.userId);
  if (!user || user.disabled) throw new TokenRefused('user_disabled');
  return {
    sub: grant.userId,
    clientId: refresh.clientId,
    scope: refresh.scope,
    exp,
    authTime: grant.authTime ?? undefined,
    grantId: grant.id,
    userId: grant.userId,
  };
}

/** An ID token Tessera issued: verified with jose against its own keys, unexpired, of an enabled user. */
async function fromIdToken(p: TokenExchangeDeps, token: string, now: number): Promise<Party> {
  const ring = p.keys();
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keyResolver(ring), {
      issuer: p.config.issuer,
      typ: 'JWT',
      algorithms: ring.algorithms,
      requiredClaims: ['sub', 'aud', 'iat', 'exp'],
      currentDate: new Date(now * 1000),
    }));
  } catch (err) {
    throw new TokenRefused(
      err instanceof joseErrors.JWTExpired ? 'expired' : 'invalid_id_token',
      err instanceof Error ? err.message : undefined,
    );
  }
  // Tessera's ID tokens have one audience, the client; an access token (at+jwt) fails on typ above.
  const aud = Array.isArray(payload.aud) ? (payload.aud.length === 1 ? payload.aud[0] : undefined) : payload.aud;
  if (typeof payload.sub !== 'string' || typeof aud !== 'string' || typeof payload.exp !== 'number')
    throw new TokenRefused('invalid_id_token');
  // A pairwise subject is never mapped back to the user: such ID tokens cannot be exchanged.
  if ((await p.stores.clients.get(aud))?.metadata.subject_type === 'pairwise')
    throw new TokenRefused('pairwise_subject');
  const user = await p.stores.users.get(payload.sub);
  if (!user || user.disabled) throw new TokenRefused('user_disabled');
  return {
    sub: payload.sub,
    clientId: aud,
    exp: payload.exp,
    authTime: typeof payload.auth_time === 'number' ? payload.auth_time : undefined,
    userId: payload.sub,
  };
}

/**
 * A JWT of an external issuer the policy trusts: its keys (inline, or fetched with the SSRF rules
 * of client-keys.ts), the issuer's algorithms, audience Tessera, exp/nbf/iat within the clock
 * skew, and a jti presented once (the replay cache, until the JWT expires).
 */
async function fromExternalJwt(
  p: TokenExchangeDeps,
  issuers: readonly TrustedIssuer[],
  token: string,
  now: number,
): Promise<Party> {
  let iss: unknown;
  try {
    iss = decodeJwt(token).iss;
  } catch {
    throw new TokenRefused('malformed');
  }
  const trusted = issuers.find((t) => t.issuer === iss);
  if (!trusted) throw new TokenRefused('untrusted_issuer', `issuer ${String(iss).slice(0, 100)}`);
  const skew = p.config.clockSkew;
  let payload: JWTPayload;
  try {
    ({ payload } = await verifyWithClientKeys(
      clientKeys(p),
      { clientId: `issuer ${trusted.issuer}`, metadata: { jwks: trusted.jwks, jwks_uri: trusted.jwks_uri } },
      token,
      {
        issuer: trusted.issuer,
        audience: [p.config.issuer, `${p.config.issuer}/token`],
        algorithms: trusted.algorithms ?? DEFAULT_EXTERNAL_ALGS,
        requiredClaims: ['sub', 'aud', 'exp', 'iat', 'jti'],
        clockTolerance: skew,
        currentDate: new Date(now * 1000),
      },
    ));
  } catch (err) {
    throw new TokenRefused(
      err instanceof joseErrors.JWTExpired ? 'expired' : 'invalid_jwt',
      err instanceof Error ? err.message : undefined,
    );
  }
  if (
    !shortString(payload.sub) ||
    !shortString(payload.jti) ||
    typeof payload.exp !== 'number' ||
    typeof payload.iat !== 'number'
  )
    throw new TokenRefused('invalid_jwt');
  if (payload.iat > now + skew) throw new TokenRefused('invalid_jwt', 'iat in the future');
  const act = readAct(payload.act);
  if (act === null) throw new TokenRefused('malformed_act');
  if (payload.client_id !== undefined && !shortString(payload.client_id))
    throw new TokenRefused('invalid_jwt', 'client_id');
  if (payload.scope !== undefined && typeof payload.scope !== 'string') throw new TokenRefused('invalid_jwt', 'scope');
  // Single use: a JWT presented once more (as subject or actor, to any client) is refused. The key
  // is hashed to a fixed length (the Redis replay cache takes at most 512 characters).
  if (
    !(await p.stores.replay.claim(
      `token-exchange:${tokenHash(`${trusted.issuer} ${payload.jti}`)}`,
      payload.exp + skew,
      now,
      Math.floor(payload.iat) - skew,
    ))
  )
    throw new TokenRefused('replayed');
  return {
    sub: payload.sub,
    iss: trusted.issuer,
    clientId: payload.client_id as string | undefined,
    scope: payload.scope as string | undefined,
    exp: payload.exp,
    authTime: typeof payload.auth_time === 'number' ? payload.auth_time : undefined,
    act,
    mayAct: payload.may_act,
  };
}

/** Verifies a subject or actor token of the given type and checks it against the policy. */
async function party(
  p: TokenExchangeDeps,
  ctx: GrantContext,
  policy: TokenExchangePolicy,
  type: TokenExchangeTokenType,
  token: string,
  role: 'subject' | 'actor',
  now: number,
): Promise<Party> {
  let found: Party;
  switch (type) {
    case 'access_token':
      found = await fromAccessToken(p, ctx, token);
      break;
    case 'refresh_token':
      found = await fromRefreshToken(p, ctx, token, now);
      break;
    case 'id_token':
      found = await fromIdToken(p, token, now);
      break;
    case 'jwt':
      found = await fromExternalJwt(p, policy.trusted_issuers ?? [], token, now);
      break;
  }
  // Tessera's own tokens must be of a client the policy names; an external JWT is vouched for by
  // its trusted issuer.
  if (type !== 'jwt' && !listed(role === 'subject' ? policy.subject_clients : policy.actor_clients, found.clientId)) {
    throw new TokenRefused('client_not_allowed', `token of client ${found.clientId}`);
  }
  if (found.exp <= now) throw new TokenRefused('expired');
  return found;
}

async function verifyParty(
  p: TokenExchangeDeps,
  ctx: GrantContext,
  client: ClientRecord,
  policy: TokenExchangePolicy,
  type: TokenExchangeTokenType,
  token: string,
  role: 'subject' | 'actor',
  now: number,
  ip?: string,
): Promise<Party> {
  try {
    return await party(p, ctx, policy, type, token, role, now);
  } catch (err) {
    if (!(err instanceof TokenRefused)) throw err;
    p.events({ type: 'token_exchange_refused', clientId: client.clientId, role, reason: err.reason, ip });
    // RFC 8693 section 2.2.2: an invalid or unacceptable subject or actor token is invalid_request.
    throw invalidRequest(`${role}_token is not an acceptable ${role} token.`, `${err.reason}: ${err.message}`);
  }
}

export const tokenExchange: GrantHandler<TokenExchangeDeps> = {
  grantType: TOKEN_EXCHANGE_GRANT,
  parameters: new Set([
    'subject_token',
    'subject_token_type',
    'actor_token',
    'actor_token_type',
    'requested_token_type',
    'audience',
    'resource',
    'scope',
  ]),
  allowPublic: false,
  async handle(p, req, params, client, ctx) {
    const policy = client.metadata.token_exchange;
    if (!policy) throw new OAuthError('unauthorized_client', 'This client has no token exchange policy.');
    if (!params.subject_token) throw invalidRequest('subject_token is required.');
    const request = exchangeRequest(policy, params);
    // Tokens for the admin API are issued only by its own grants (protocol/admin-tokens.ts), never exchanged for.
    if (request.audience === adminAudience(p.config.issuer))
      throw new OAuthError('invalid_target', 'This client may not ask for tokens for that audience.', {
        detail: 'the admin audience',
      });
    const now = p.now();
    // A Tessera user is named as the exchanging client sees them (pairwise subjects are mapped
    // through the user id, never reversed); anyone else keeps the sub of their token.
    const subjectOf = (x: Party) =>
      x.userId !== undefined ? subjectFor(p.config.pairwiseSecret, client, x.userId, p.pairwiseKeys) : x.sub;
    const subject = await verifyParty(
      p,
      ctx,
      client,
      policy,
      request.subjectType,
      params.subject_token,
      'subject',
      now,
      req.ip,
    );
    const actor =
      request.actorType &&
      (await verifyParty(p, ctx, client, policy, request.actorType, params.actor_token!, 'actor', now, req.ip));
    let act = subject.act;
    if (actor) {
      if (!mayActAllows(subject.mayAct, actor)) {
        p.events({
          type: 'token_exchange_refused',
          clientId: client.clientId,
          role: 'actor',
          reason: 'may_act',
          ip: req.ip,
        });
        throw invalidRequest(
          'actor_token is not an acceptable actor token.',
          "the subject token's may_act does not name the actor",
        );
      }
      act = actClaim({ ...actor, sub: subjectOf(actor) }, subject.act);
      if (actDepth(act) > MAX_ACT_DEPTH) throw invalidRequest('The delegation chain is too long.');
    }
    const scope = exchangeScope(client, subject.scope, params.scope, policy);
    // The new token never outlives the tokens it was exchanged for.
    const ttl = Math.min(p.config.accessTokenTtl, subject.exp - now, actor ? actor.exp - now : Infinity);
    if (ttl <= 0) throw invalidRequest('subject_token is not an acceptable subject token.');
    // A Tessera user's directory claims (groups, roles, attributes) for this client and audience, as
    // every access token of theirs carries them (directory-claims.ts), under the scopes that release them.
    const directory =
      subject.userId !== undefined
        ? await prepareDirectoryClaims(p, client, subject.userId, request.audience ?? null)
        : undefined;
    const access = mintAccessToken(p.keys(), {
      issuer: p.config.issuer,
      sub: subjectOf(subject),
      clientId: client.clientId,
      audience: request.audience,
      scope,
      now,
      ttl,
      authTime: subject.authTime,
      act,
      // Bound like every token of this endpoint: to the request's DPoP key, or to the client's certificate.
      jkt: ctx.dpop?.jkt,
      x5t: boundCertificate(ctx),
      extra: directoryClaims(directory, scope, 'access_token'),
    });
    // A token from a user's grant: the new one joins that grant, so revoking the grant (consent
    // revoked, family reuse, user disabled) revokes it too.
    if (
      subject.grantId &&
      !(await p.stores.grants.addAccessToken(subject.grantId, { jti: access.jti, expiresAt: access.expiresAt }))
    ) {
      throw invalidRequest('subject_token is not an acceptable subject token.', 'grant revoked');
    }
    p.events({
      type: 'token_exchanged',
      clientId: client.clientId,
      subjectTokenType: request.subjectType,
      actorTokenType: request.actorType,
      audience: request.audience,
      ip: req.ip,
    });
    p.log.info(
      {
        event: 'token_exchanged',
        client_id: client.clientId,
        subject_client: subject.clientId,
        subject_iss: subject.iss,
        actor: actor ? actor.sub : undefined,
        audience: request.audience,
        ip: req.ip,
      },
      'token exchanged',
    );
    return tokenResponse(access, ttl, { issuedTokenType: request.issuedType, scope: scope || undefined });
  },
};
