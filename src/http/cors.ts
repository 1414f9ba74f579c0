/**
 * CORS for the endpoints a browser client calls (token, userinfo, revocation; discovery and JWKS
 * are public). Never for the authorization endpoint (RFC 9700 section 2.6). An origin is allowed
 * when it is configured, or when it is the origin of a registered redirect URI of some client.
 */
export interface CorsPolicy {
  configured: ReadonlySet<string>;
  clientOrigins(): Promise<ReadonlySet<string>>;
}

export async function corsHeaders(
  policy: CorsPolicy,
  mode: 'clients' | 'any',
  origin: string | undefined,
  preflight: boolean,
): Promise<Record<string, string>> {
  const h: Record<string, string> = { vary: 'Origin' };
  if (!origin) return h;
  if (mode === 'any') h['access-control-allow-origin'] = '*';
  else if (policy.configured.has(origin) || (await policy.clientOrigins()).has(origin))
    h['access-control-allow-origin'] = origin;
  else return h;
  if (preflight) {
    h['access-control-allow-methods'] = 'GET, POST';
    h['access-control-allow-headers'] = 'Authorization, Content-Type, DPoP';
    h['access-control-max-age'] = '600';
  } else {
    h['access-control-expose-headers'] = 'WWW-Authenticate, DPoP-Nonce, Retry-After, RateLimit, RateLimit-Policy';
  }
  return h;
}
