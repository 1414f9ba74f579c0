// The checks every protected resource of Tessera's own (userinfo, the admin API: protocol/admin-tokens.ts)
// makes of the access token a request presents, in one place: how it was sent (RFC 6750 Bearer, or
// RFC 9449 DPoP with a proof of the bound key: htm, htu, ath), a DPoP-bound token sent as a bearer
// token refused, a certificate-bound token only over a connection with that certificate (RFC 8705),
// the audience the resource expects, and revocation (the token, its grant, or its client or user
// disabled now). What each resource asks beyond that (scopes, who the token speaks for) is its own.
import type { Stores } from '../../ports/index.ts';
import { certificateThumbprint } from '../client-auth/mtls.ts';
import { dpopChallenge, dpopNonceHeaders, verifyDpopProof, type DpopProofDeps } from '../dpop.ts';
import { OAuthError, invalidRequest } from '../errors.ts';
import { safeEqual } from '../hash.ts';
import { MAX_TOKEN_LENGTH, readParams } from '../params.ts';
import { header, type Provider, type ProtocolRequest, type StoreDeps } from '../provider.ts';
import type { GrantFacts } from '../services.ts';
import { verifyAccessToken, type AccessTokenVerifierDeps, type VerifiedAccessToken } from './access-token.ts';

/** What the checks use: the verifier and its memo, DPoP proofs (nonces, replay), revocations, events. */
export type ResourceTokenDeps = Pick<Provider, 'config' | 'events'> & {
  readonly stores: Pick<Stores, 'revocations'>;
} & AccessTokenVerifierDeps &
  DpopProofDeps;

const BODY_PARAMS = new Set(['access_token']);

const malformed = () =>
  new OAuthError('invalid_token', 'The access token is malformed.', {
    headers: {
      'www-authenticate': dpopChallenge({ code: 'invalid_token', description: 'The access token is malformed.' }),
    },
  });

/**
 * The access token of a request and how it was sent: `Bearer` (RFC 6750: header or, for a POST, form
 * body) or `DPoP` (RFC 9449 section 7.1: the Authorization header with the DPoP scheme). Never both ways.
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
      if (d[1]!.length > MAX_TOKEN_LENGTH) throw malformed();
      return { token: d[1]!, scheme: 'DPoP' };
    }
    if (/^dpop\b/i.test(authorization)) throw malformed();
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

/** The bearer token of a request: Authorization header or form body, never both (RFC 6750). */
export function bearerToken(req: ProtocolRequest): string | undefined {
  const presented = presentedToken(req);
  return presented?.scheme === 'Bearer' ? presented.token : undefined;
}

/** An access token that passed a resource's checks, and how to refuse it further in the style of its scheme. */
export interface ResourceToken {
  claims: VerifiedAccessToken;
  scheme: 'Bearer' | 'DPoP';
  /**
   * An invalid_token refusal with the challenge of the scheme the token came with (RFC 9449 section
   * 7.1): the DPoP challenge and nonce for DPoP, none for Bearer (the route adds its own); `detail` for the logs.
   */
  refuse(description: string, detail?: string): OAuthError;
}

/**
 * Verifies the access token of a request to a resource of Tessera's own at `htu` (the resource's URL
 * without query, for the DPoP proof): present, a valid unexpired Tessera access token, sent as its
 * binding requires (a DPoP-bound one with the DPoP scheme and a proof of its key; a certificate-bound
 * one over a connection with that certificate), one of `audiences` in its `aud`, not revoked (nor its
 * grant, client or user, now). Throws the OAuthError to answer with (invalid_token, invalid_dpop_proof,
 * use_dpop_nonce; `detail: 'no token'` when none was presented).
 */
export async function verifyResourceToken(
  p: ResourceTokenDeps,
  req: ProtocolRequest,
  expect: { htu: string; audiences: readonly string[] },
): Promise<ResourceToken> {
  const presented = presentedToken(req);
  if (!presented)
    throw new OAuthError('invalid_token', 'An access token is required.', { status: 401, detail: 'no token' });
  const { token, scheme } = presented;
  const claims = await verifyAccessToken(p, token);
  const refuseAs = (dpopScheme: boolean, description: string, detail?: string) =>
    new OAuthError('invalid_token', description, {
      ...(detail !== undefined ? { detail } : {}),
      headers: dpopScheme
        ? { 'www-authenticate': dpopChallenge({ code: 'invalid_token', description }), ...dpopNonceHeaders(p) }
        : undefined,
    });
  const refuse = (description: string, detail?: string) => refuseAs(scheme === 'DPoP', description, detail);
  const invalid = () => refuse('The access token is invalid or expired.');
  if (!claims) throw invalid();
  const jkt = claims.cnf?.jkt;
  if (scheme === 'DPoP') {
    const proof = await verifyDpopProof(p, req, {
      htm: req.method,
      htu: expect.htu,
      accessToken: token,
      clientId: claims.client_id,
      resource: true,
    });
    if (!proof) {
      const description = 'A DPoP proof is required with the DPoP scheme.';
      throw new OAuthError('invalid_dpop_proof', description, {
        status: 401,
        headers: {
          'www-authenticate': dpopChallenge({ code: 'invalid_dpop_proof', description }),
          ...dpopNonceHeaders(p),
        },
      });
    }
    if (!jkt || proof.jkt !== jkt) throw refuse('The access token is not bound to this DPoP key.');
  } else if (jkt) {
    // RFC 9449 section 7.2: a DPoP-bound token sent as a bearer token is refused.
    throw refuseAs(true, 'This access token is bound to a DPoP key; send it with the DPoP scheme and a proof.');
  }
  // RFC 8705 section 3: a certificate-bound token is accepted only over a connection with that certificate.
  const x5t = claims.cnf?.['x5t#S256'];
  if (x5t !== undefined && !(req.clientCertificate && safeEqual(certificateThumbprint(req.clientCertificate), x5t))) {
    p.events({ type: 'certificate_binding_refused', clientId: claims.client_id, ip: req.ip });
    throw refuse('The access token is bound to another TLS client certificate.');
  }
  if (!audienceOf(claims).some((a) => expect.audiences.includes(a))) throw invalid();
  // Revoked, or its client or user disabled (now, or since the token was issued): one fresh lookup.
  if (await p.stores.revocations.isTokenRevoked(claims)) throw invalid();
  return { claims, scheme, refuse };
}

/** The audiences of a token (`aud` is a string or a list of strings). */
export function audienceOf(claims: { aud?: string | string[] }): string[] {
  const aud = claims.aud;
  return Array.isArray(aud) ? aud : aud === undefined ? [] : [aud];
}

/**
 * What a resource needs of the grant an access token was issued from: its user and the claims its
 * authorization request asked for, remembered per jti until the token expires (`grantFacts`), so
 * that a token presented again costs no grant lookup (userinfo, the admin API).
 */
export async function grantOfToken(
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
