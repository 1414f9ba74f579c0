import { dpopChallenge, dpopNonceHeaders } from '../dpop.ts';
import { OAuthError } from '../errors.ts';
import type { OAuthResponse, Provider, ProtocolRequest } from '../provider.ts';
import { STANDARD_SCOPES } from '../scopes.ts';
import { grantOfToken, verifyResourceToken, type ResourceTokenDeps } from '../tokens/resource-token.ts';
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
} & ResourceTokenDeps &
  DepsOf<typeof prepareDirectoryClaims>;

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
  // The resource checks userinfo shares with the admin API: scheme, DPoP proof, bindings, audience, revocation.
  const { claims, scheme, refuse } = await verifyResourceToken(p, req, {
    htu: `${p.config.issuer}/userinfo`,
    audiences: [p.config.defaultAudience, p.config.issuer],
  });
  const invalid = () => refuse('The access token is invalid or expired.');
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
