import type { Config } from '../config/config.ts';

/**
 * CORS for the endpoints a browser client calls (token, userinfo, revocation, registration;
 * discovery and JWKS are public and answer any origin, prepared.ts). Never for the authorization
 * endpoint (RFC 9700 section 2.6), and never with credentials: no endpoint here reads cookies, so
 * Access-Control-Allow-Credentials is never sent and a browser never attaches them.
 *
 * Modes: `clients`, an origin configured (TESSERA_CORS_ORIGINS) or the origin of a registered
 * redirect URI of some client; `configured`, a configured origin only (registration: a client that
 * registers has no redirect URI on record yet); `any`, every origin with `*`
 * (TESSERA_CORS_ANY_ORIGIN, for browser-based clients whose origin is not known in advance).
 */
export interface CorsPolicy {
  configured: ReadonlySet<string>;
  clientOrigins(): Promise<ReadonlySet<string>>;
}

export type CorsMode = 'clients' | 'configured' | 'any';

/** The request fields a preflight may ask for: client authentication, JSON or form bodies, DPoP proofs. */
export const CORS_ALLOW_HEADERS = 'Authorization, Content-Type, DPoP';
/** The response fields a browser client may read: challenges, DPoP nonces, rate-limit state. */
export const CORS_EXPOSE_HEADERS = 'WWW-Authenticate, DPoP-Nonce, Retry-After, RateLimit, RateLimit-Policy';

/**
 * The mode a route's CORS runs in under `config`: its own, or `any` for the routes that follow
 * TESSERA_CORS_ANY_ORIGIN when it is on. Resolved once when the routes are mounted.
 */
export function corsModeFor(
  route: { cors?: CorsMode; corsAnyOrigin?: true },
  config: Pick<Config, 'corsAnyOrigin'>,
): CorsMode | undefined {
  if (route.corsAnyOrigin && config.corsAnyOrigin) return 'any';
  return route.cors;
}

export async function corsHeaders(
  policy: CorsPolicy,
  mode: CorsMode,
  origin: string | undefined,
  preflight: boolean,
  methods = 'GET, POST',
): Promise<Record<string, string>> {
  const h: Record<string, string> = { vary: 'Origin' };
  if (!origin) return h;
  if (mode === 'any') h['access-control-allow-origin'] = '*';
  else if (policy.configured.has(origin) || (mode === 'clients' && (await policy.clientOrigins()).has(origin)))
    h['access-control-allow-origin'] = origin;
  else return h;
  if (preflight) {
    h['access-control-allow-methods'] = methods;
    h['access-control-allow-headers'] = CORS_ALLOW_HEADERS;
    h['access-control-max-age'] = '600';
  } else {
    h['access-control-expose-headers'] = CORS_EXPOSE_HEADERS;
  }
  return h;
}
