import { OAuthError, invalidRequest } from '../errors.ts';
import { MAX_TOKEN_LENGTH, readParams } from '../params.ts';
import { header, type OAuthResponse, type Provider, type ProtocolRequest } from '../provider.ts';
import { STANDARD_SCOPES } from '../scopes.ts';
import { verifyAccessToken } from '../tokens/access-token.ts';
import type { UserRecord } from '../../ports/users.ts';

const BODY_PARAMS = new Set(['access_token']);

/** The bearer token of a request: Authorization header or form body, never both (RFC 6750). */
export function bearerToken(req: ProtocolRequest): string | undefined {
  const authorization = header(req, 'authorization');
  const body = req.method === 'POST' ? readParams(req.params, BODY_PARAMS, { access_token: MAX_TOKEN_LENGTH }).access_token : undefined;
  if (authorization !== undefined) {
    if (body !== undefined) throw invalidRequest('Use only one way of sending the access token.');
    const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization);
    if (!m) {
      if (/^bearer\b/i.test(authorization)) throw new OAuthError('invalid_token', 'The access token is malformed.');
      return undefined;
    }
    if (m[1]!.length > MAX_TOKEN_LENGTH) throw new OAuthError('invalid_token', 'The access token is malformed.');
    return m[1];
  }
  return body;
}

export function userClaims(user: UserRecord, scopes: string[]): Record<string, unknown> {
  const all: Record<string, unknown> = {
    sub: user.id, name: user.name, given_name: user.givenName, family_name: user.familyName, preferred_username: user.username,
    updated_at: user.updatedAt, email: user.email, email_verified: user.email ? user.emailVerified : undefined,
  };
  const out: Record<string, unknown> = { sub: user.id };
  for (const s of scopes) for (const c of STANDARD_SCOPES[s]?.claims ?? []) if (all[c] != null) out[c] = all[c];
  return out;
}

/** GET or POST /userinfo. */
export async function userinfo(p: Provider, req: ProtocolRequest): Promise<OAuthResponse> {
  const token = bearerToken(req);
  if (!token) throw new OAuthError('invalid_token', 'An access token is required.', { status: 401, detail: 'no token' });
  const claims = await verifyAccessToken(p.keys(), p.config.issuer, token);
  const invalid = () => new OAuthError('invalid_token', 'The access token is invalid or expired.');
  if (!claims) throw invalid();
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes(p.config.defaultAudience) && !aud.includes(p.config.issuer)) throw invalid();
  if (await p.stores.revocations.isAccessTokenRevoked(claims.jti)) throw invalid();
  const scopes = (claims.scope ?? '').split(' ');
  if (!scopes.includes('openid')) throw new OAuthError('insufficient_scope', 'The access token does not have the openid scope.');
  const user = await p.stores.users.get(claims.sub);
  if (!user || user.disabled) throw invalid();
  return { kind: 'json', status: 200, body: userClaims(user, scopes), headers: { 'cache-control': 'no-store' } };
}
