import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { invalidRequest } from '../errors.ts';
import type { Provider } from '../provider.ts';
import { keyResolver } from './access-token.ts';

/**
 * OIDC Core section 3.1.2.1: an ID token Tessera issued to this client, passed back as a hint about
 * the user. Verified with jose against Tessera's own published keys (alg and kid must match a key;
 * `none` and foreign keys fail), with iss and aud (this client) checked; an expired one is still a
 * good hint (the spec allows it), since its signature, iss and aud were checked before exp.
 * Returns the hint's sub, the subject this client sees (pairwise for a pairwise client: compare
 * it with subjectFor of a known user, never look it up); anything else is invalid_request.
 */
export async function verifyIdTokenHint(
  p: Pick<Provider, 'config' | 'keys' | 'events'>,
  clientId: string,
  hint: string,
  ip?: string,
): Promise<string> {
  const refuse = (reason: string, detail?: string) => {
    p.events({ type: 'id_token_hint_refused', clientId, reason, ip });
    return invalidRequest('id_token_hint is not a valid ID token issued by this server to this client.', detail);
  };
  const ring = p.keys();
  const options = {
    issuer: p.config.issuer,
    audience: clientId,
    typ: 'JWT',
    algorithms: ring.algorithms,
    requiredClaims: ['sub', 'iat', 'exp'],
  };
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(hint, keyResolver(ring), options));
  } catch (err) {
    if (!(err instanceof joseErrors.JWTExpired) || err.claim !== 'exp') {
      throw refuse(
        err instanceof joseErrors.JOSEError ? err.code : 'malformed',
        err instanceof Error ? err.message : undefined,
      );
    }
    payload = err.payload;
  }
  if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw refuse('no_sub');
  return payload.sub;
}
