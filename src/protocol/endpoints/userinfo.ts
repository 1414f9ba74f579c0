import { certificateThumbprint } from '../client-auth/mtls.ts';
import { safeEqual } from '../hash.ts';
import { dpopChallenge, dpopNonceHeaders, verifyDpopProof, type DpopProofDeps } from '../dpop.ts';
import { OAuthError, invalidRequest } from '../errors.ts';
import { MAX_TOKEN_LENGTH, readParams } from '../params.ts';
import { header, type OAuthResponse, type Provider, type ProtocolRequest } from '../provider.ts';
import { STANDARD_SCOPES } from '../scopes.ts';
import { verifyAccessToken, type AccessTokenVerifierDeps } from '../tokens/access-token.ts';
import type { UserRecord } from '../../ports/users.ts';
import { subjectFor } from '../tokens/subject.ts';
import { responseAlg, responseSigner } from '../tokens/response-algs.ts';
import { signJwt } from '../tokens/signer.ts';
import type { ClientRecord } from '../../ports/clients.ts';
import type { Stores } from '../../ports/index.ts';
import type { GrantFacts } from '../services.ts';
import type { DepsOf, StoreDeps } from '../provider.ts';
import { directoryClaims, prepareDirectoryClaims } from '../directory-claims.ts';

/** What userinfo uses of the Provider: users, clients, grants, revocations, keys, the verifier and its caches, DPoP. */
export type UserinfoDeps = Pick<Provider, 'config' | 'keys' | 'events' | 'grantFacts' | 'pairwiseKeys'> & {
  readonly stores: Pick<Stores, 'users' | 'clients' | 'grants' | 'revocations'>;
} & AccessTokenVerifierDeps &
  DpopProofDeps &
  DepsOf<typeof prepareDirectoryClaims>;

const BODY_PARAMS = new Set(['access_token']);

/** The bearer token of a request: Authorization header or form body, never both (RFC 6750). */
export function bearerToken(req: ProtocolRequest): string | undefined {
  const presented = presentedToken(req);
  return presented?.scheme === 'Bearer' ? presented.token : undefined;
}

/**
 * The access token of a request and how it was sent: `Bearer` (RFC 6750: header or form body) or
 * `DPoP` (RFC 9449 section 7.1: the Authorization header with the DPoP scheme). Never both ways.
 */
export function presentedToken(req: ProtocolRequest): { token: string; scheme: 'Bearer' | 'DPoP' } | undefined {
  const authorization = header(req, 'authorization');
  const body =
    req.method === 'POST'
      ? readParams(req.params, BODY_PARAMS, { access_token: MAX_TOKEN_LENGTH }).access_token
      : undefined;
  if (authorization !== undefined) {
    if (body !== undefined) throw invalidRequest('Use only one way of sending the access token.');
    const d = /^DPoP +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization);
    if (d) {
      if (d[1]!.length > MAX_TOKEN_LENGTH)
        throw new OAuthError('invalid_token', 'The access token is malformed.', {
          headers: {
            'www-authenticate': dpopChallenge({ code: 'invalid_token', description: 'The access token is malformed.' }),
          },
        });
      return { token: d[1]!, scheme: 'DPoP' };
    }
    if (/^dpop\b/i.test(authorization))
      throw new OAuthError('invalid_token', 'The access token is malformed.', {
        headers: {
          'www-authenticate': dpopChallenge({ code: 'invalid_token', description: 'The access token is malformed.' }),
        },
      });
    const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization);
    if (!m) {
      if (/^bearer\b/i.test(authorization)) throw new OAuthError('invalid_token', 'The access token is malformed.');
      return undefined;
    }
    if (m[1]!.length > MAX_TOKEN_LENGTH) throw new OAuthError('invalid_token', 'The access token is malformed.');
    return { token: m[1]!, scheme: 'Bearer' };
  }
  return body === undefined ? undefined : { token: body, scheme: 'Bearer' };
}

export function userClaims(user: UserRecord, scopes: string[]): Record<string, unknown> {
  const all: Record<string, unknown> = {
    sub: user.id,
    name: user.name,
    given_name: user.givenName,
    family_name: user.familyName,
    preferred_username: user.username,
    updated_at: user.updatedAt,
    email: user.email,
    email_verified: user.email ? user.emailVerified : undefined,
  };
  const out: Record<string, unknown> = { sub: user.id };
  for (const s of scopes) for (const c of STANDARD_SCOPES[s]?.claims ?? []) if (all[c] != null) out[c] = all[c];
  return out;
}

/** The named standard claims of a user that the user has (OIDC Core 5.5: claims asked for by name). */
export function namedUserClaims(user: UserRecord, names: readonly string[]): Record<string, unknown> {
  const all = userClaims(user, Object.keys(STANDARD_SCOPES));
  const out: Record<string, unknown> = {};
  for (const c of names) if (c !== 'sub' && all[c] != null) out[c] = all[c];
  return out;
}

/**
 * What userinfo needs of the grant an access token was issued from: its user and the claims its
 * authorization request asked for, remembered per jti until the token expires (`grantFacts`), so
 * that a token presented again costs no grant lookup.
 */
async function grantOfToken(
  p: Pick<Provider, 'grantFacts'> & StoreDeps<'grants'>,
  claims: { jti: string; exp: number },
): Promise<GrantFacts> {
  const known = p.grantFacts.get(claims.jti);
  if (known !== undefined) return known;
  const grant = await p.stores.grants.findByAccessToken(claims.jti);
  const facts: GrantFacts = grant ? { userId: grant.userId, claims: grant.claims } : null;
  p.grantFacts.set(claims.jti, facts, claims.exp);
  return facts;
}

/**
 * The user an access token was issued for. A pairwise client's token carries a pairwise sub, which
 * is never reversed: the user comes from the grant the token was issued from, and the sub must be
 * the one that client sees for that user (OpenID Connect Core 8).
 */
async function tokenUser(
  p: Pick<Provider, 'config' | 'pairwiseKeys'> & StoreDeps<'users'>,
  claims: { sub: string; jti: string; exp: number; client_id: string },
  grant: GrantFacts,
  client: ClientRecord | undefined,
): Promise<UserRecord | undefined> {
  if (client?.metadata.subject_type !== 'pairwise') return p.stores.users.get(claims.sub);
  if (!grant || subjectFor(p.config.pairwiseSecret, client, grant.userId, p.pairwiseKeys) !== claims.sub)
    return undefined;
  return p.stores.users.get(grant.userId);
}

/** GET or POST /userinfo. */
export async function userinfo(p: UserinfoDeps, req: ProtocolRequest): Promise<OAuthResponse> {
  const presented = presentedToken(req);
  if (!presented)
    throw new OAuthError('invalid_token', 'An access token is required.', { status: 401, detail: 'no token' });
  const { token, scheme } = presented;
  const claims = await verifyAccessToken(p, token);
  // Errors answer with the challenge of the scheme the token came with (RFC 9449 section 7.1).
  const refuse = (description: string, dpopScheme = scheme === 'DPoP') =>
    new OAuthError('invalid_token', description, {
      headers: dpopScheme
        ? { 'www-authenticate': dpopChallenge({ code: 'invalid_token', description }), ...dpopNonceHeaders(p) }
        : undefined,
    });
  const invalid = () => refuse('The access token is invalid or expired.');
  if (!claims) throw invalid();
  const jkt = claims.cnf?.jkt;
  if (scheme === 'DPoP') {
    const proof = await verifyDpopProof(p, req, {
      htm: req.method,
      htu: `${p.config.issuer}/userinfo`,
      accessToken: token,
      clientId: claims.client_id,
      resource: true,
    });
    if (!proof) {
      throw new OAuthError('invalid_dpop_proof', 'A DPoP proof is required with the DPoP scheme.', {
        status: 401,
        headers: {
          'www-authenticate': dpopChallenge({
            code: 'invalid_dpop_proof',
            description: 'A DPoP proof is required with the DPoP scheme.',
          }),
          ...dpopNonceHeaders(p),
        },
      });
    }
    if (!jkt || proof.jkt !== jkt) throw refuse('The access token is not bound to this DPoP key.');
  } else if (jkt) {
    // RFC 9449 section 7.2: a DPoP-bound token sent as a bearer token is refused.
    throw refuse('This access token is bound to a DPoP key; send it with the DPoP scheme and a proof.', true);
  }
  // RFC 8705 section 3: a certificate-bound token is accepted only over a connection with that certificate.
  const x5t = claims.cnf?.['x5t#S256'];
  if (x5t !== undefined && !(req.clientCertificate && safeEqual(certificateThumbprint(req.clientCertificate), x5t))) {
    p.events({ type: 'certificate_binding_refused', clientId: claims.client_id, ip: req.ip });
    throw refuse('The access token is bound to another TLS client certificate.');
  }
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes(p.config.defaultAudience) && !aud.includes(p.config.issuer)) throw invalid();
  // Revoked, or its client or user disabled (now, or since the token was issued): one fresh lookup.
  if (await p.stores.revocations.isTokenRevoked(claims)) throw invalid();
  const scopes = (claims.scope ?? '').split(' ');
  if (!scopes.includes('openid')) {
    const description = 'The access token does not have the openid scope.';
    throw new OAuthError(
      'insufficient_scope',
      description,
      scheme === 'DPoP'
        ? { headers: { 'www-authenticate': dpopChallenge({ code: 'insufficient_scope', description }) } }
        : {},
    );
  }
  const grant = await grantOfToken(p, claims);
  const client = await p.stores.clients.get(claims.client_id);
  const user = await tokenUser(p, claims, grant, client);
  if (!user || user.disabled) throw invalid();
  // OIDC Core 5.5: the claims the authorization request asked for at userinfo, kept with its grant.
  // The client's claims from the directory (directory-claims.ts), under the scopes that release them.
  const mapped = client && directoryClaims(await prepareDirectoryClaims(p, client, user.id, null), scopes, 'userinfo');
  const body = {
    ...mapped,
    ...userClaims(user, scopes),
    ...(grant?.claims ? namedUserClaims(user, grant.claims.userinfo) : {}),
    sub: claims.sub,
  };
  const headers = { 'cache-control': 'no-store', ...(scheme === 'DPoP' ? dpopNonceHeaders(p) : {}) };
  // OIDC Core 5.3.2: a client registered with userinfo_signed_response_alg gets a JWT (with iss and aud).
  if (client && responseAlg(p.config, client, 'userinfo') !== undefined) {
    const jwt = signJwt(responseSigner(p, client, 'userinfo'), 'JWT', {
      ...body,
      iss: p.config.issuer,
      aud: client.clientId,
    });
    return { kind: 'raw', status: 200, contentType: 'application/jwt', body: jwt, headers };
  }
  return { kind: 'json', status: 200, body, headers };
}
