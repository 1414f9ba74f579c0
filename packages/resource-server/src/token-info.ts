// The verified access token as every part of the SDK hands it on.

/** RFC 9449 / RFC 8705 confirmation of a bound token. */
export interface Confirmation {
  jkt?: string;
  'x5t#S256'?: string;
}

/** An access token that passed every check. */
export interface VerifiedToken {
  /** The token itself (to forward it, e.g. to the MCP SDK's AuthInfo; never log it). */
  token: string;
  /** How it was verified: locally as an RFC 9068 JWT, or by RFC 7662 introspection. */
  source: 'jwt' | 'introspection';
  /** The scheme it came with. */
  scheme: 'Bearer' | 'DPoP';
  issuer: string;
  subject: string | undefined;
  clientId: string;
  scopes: string[];
  audience: string[];
  /** Expiry, in seconds since the epoch. */
  expiresAt: number;
  issuedAt: number | undefined;
  jti: string | undefined;
  cnf: Confirmation | undefined;
  /** How the user authenticated (`acr`), when the token says. */
  acr: string | undefined;
  /** When the user authenticated (`auth_time`, seconds since the epoch), when the token says. */
  authTime: number | undefined;
  /** All the claims (or the introspection answer). */
  claims: Readonly<Record<string, unknown>>;
}

/** `acr` and `auth_time` of a token's claims; a malformed one counts as absent (a demand for it is then refused). */
export function authenticationOf(claims: Record<string, unknown>): {
  acr: string | undefined;
  authTime: number | undefined;
} {
  return {
    acr: typeof claims.acr === 'string' && claims.acr ? claims.acr : undefined,
    authTime: Number.isSafeInteger(claims.auth_time) ? (claims.auth_time as number) : undefined,
  };
}

/** The scopes of a space-separated `scope` claim. */
export function scopesOf(scope: unknown): string[] {
  return typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
}

/** `aud` as a list. */
export function audiencesOf(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
}

/** A cnf claim as the SDK uses it, or undefined; anything malformed is undefined (the caller refuses it). */
export function confirmationOf(cnf: unknown): Confirmation | undefined | 'malformed' {
  if (cnf === undefined) return undefined;
  if (cnf === null || typeof cnf !== 'object' || Array.isArray(cnf)) return 'malformed';
  const c = cnf as Record<string, unknown>;
  const out: Confirmation = {};
  if (c.jkt !== undefined) {
    if (typeof c.jkt !== 'string' || !c.jkt) return 'malformed';
    out.jkt = c.jkt;
  }
  if (c['x5t#S256'] !== undefined) {
    if (typeof c['x5t#S256'] !== 'string' || !c['x5t#S256']) return 'malformed';
    out['x5t#S256'] = c['x5t#S256'];
  }
  return out;
}
