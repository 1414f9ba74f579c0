// Tokens for Tessera's own admin API (issue 20): the protocol rules of issuing them, and the check of
// the token a request to /admin/api/v1 presents.
//
// Issuing: admin scopes (admin-scopes.ts) go only to admin clients (`metadata.admin_client: true`,
// never a self-registered one), only through client_credentials (the client acting for itself) and
// the device flow (a person through the CLI), only alone (no other scope with them: no offline_access,
// so no refresh token), only for the admin audience (`<issuer>/admin/api`), for TESSERA_ADMIN_TOKEN_TTL.
// A person's token holds only the scopes asked that the person's admin role holds at issuance, and
// only after a second factor. Every way to a token runs `adminTokenRequest` (through
// resources.ts checkSelfRegisteredRequest, and again in the grants), so no path forgets it.
//
// Verifying: the resource checks userinfo makes too (tokens/resource-token.ts: scheme, DPoP proof,
// bindings, revocation), the admin audience, then who the token speaks for NOW: a client token's
// client must still be an enabled admin client; a person's token's user must still be enabled and
// hold an admin role, whose scopes bound the token's at every request (a role removed or lowered
// counts at once).
import type { Config } from '../config/config.ts';
import type { ClientRecord } from '../ports/clients.ts';
import { ADMIN_ROLES, type AdminRole } from '../ports/admin.ts';
import {
  adminAudience,
  isAdminClient,
  isAdminScope,
  knownAdminScope,
  ROLE_SCOPES,
  type AdminScope,
} from './admin-scopes.ts';
import { acrFor, acrLevel } from './claims-request.ts';
import { OAuthError } from './errors.ts';
import { splitScope } from './params.ts';
import type { Provider, ProtocolRequest, StoreDeps } from './provider.ts';
import { grantOfToken, verifyResourceToken, type ResourceTokenDeps } from './tokens/resource-token.ts';

/** The grants that issue admin tokens: client credentials (a client for itself) and the device flow (a person). */
const ADMIN_GRANTS: ReadonlySet<string> = new Set([
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:device_code',
]);

/** The acr level of a second factor (claims-request.ts: password 0, mfa 1, phr 2, phrh 3). */
const MFA_LEVEL = 1;

/** What an admin token request asks, once its rules are met: the admin audience and the admin scopes. */
export interface AdminTokenRequest {
  audience: string;
  scopes: AdminScope[];
}

const refusedScope = (description: string, detail: string) => new OAuthError('invalid_scope', description, { detail });

/**
 * The admin part of a request that leads to a token (authorization, PAR, device authorization, client
 * credentials, and the device grant again when it issues): undefined when it asks no admin scope (it
 * may not name the admin audience then); otherwise the admin audience and scopes, after the rules:
 * an admin client, a grant that issues admin tokens, known admin scopes only and nothing else with
 * them (RFC 6749 invalid_scope), no resource but the admin audience (RFC 8707 invalid_target).
 */
export function adminTokenRequest(
  config: Pick<Config, 'issuer'>,
  client: Pick<ClientRecord, 'metadata'>,
  req: { grantType: string; scope?: string | null; resource?: string | null },
): AdminTokenRequest | undefined {
  const audience = adminAudience(config.issuer);
  const scopes = splitScope(req.scope ?? undefined);
  const resources = req.resource ? req.resource.split(' ').filter(Boolean) : [];
  const admin = scopes.filter(isAdminScope);
  if (admin.length === 0) {
    if (resources.includes(audience))
      throw new OAuthError('invalid_target', 'Tokens for the admin API carry admin scopes only.', {
        detail: 'admin audience without admin scopes',
      });
    return undefined;
  }
  const named = admin[0]!.slice(0, 100);
  if (!isAdminClient(client))
    throw refusedScope(
      `Scope ${named} is not allowed for this client.`,
      'admin scope asked by a client not an admin client',
    );
  if (!ADMIN_GRANTS.has(req.grantType))
    throw refusedScope(
      'Admin scopes are issued only through the client credentials grant and the device flow.',
      `admin scope asked with ${req.grantType.slice(0, 64)}`,
    );
  const unknown = admin.find((s) => !knownAdminScope(s));
  if (unknown !== undefined)
    throw refusedScope(`Scope ${unknown.slice(0, 100)} is not an admin scope of this server.`, 'unknown admin scope');
  if (scopes.includes('offline_access'))
    throw refusedScope(
      'Admin tokens come without refresh tokens: offline_access cannot be asked with admin scopes.',
      'offline_access with admin scopes',
    );
  if (admin.length !== scopes.length)
    throw refusedScope('Admin scopes cannot be asked together with other scopes.', 'admin scopes mixed with others');
  if (resources.some((r) => r !== audience))
    throw new OAuthError('invalid_target', `Admin scopes are issued only for the admin API: ${audience}.`, {
      detail: 'admin scopes for another resource',
    });
  return { audience, scopes: [...new Set(admin as AdminScope[])] };
}

/** The admin scopes of a role (an unknown role stored by mistake holds none). */
function roleScopes(role: string | undefined): ReadonlySet<string> {
  return new Set(
    role !== undefined && (ADMIN_ROLES as readonly string[]).includes(role) ? ROLE_SCOPES[role as AdminRole] : [],
  );
}

/** Whether an authentication (its amr, RFC 8176) passed a second factor: the mfa level or above. */
export const passedSecondFactor = (amr: readonly string[] | undefined): boolean =>
  acrLevel(acrFor(amr ?? [])) >= MFA_LEVEL;

/**
 * The admin scopes a person's token may carry (the device flow, at issuance): those asked that the
 * person's admin role holds now, after a second factor (`amr`). A person without a role, without a
 * second factor, or whose role holds none of the scopes asked gets nothing: access_denied (RFC 8628
 * section 3.5: the authorization was not granted).
 */
export async function personAdminScopes(
  p: StoreDeps<'adminRoles'>,
  userId: string,
  amr: readonly string[],
  asked: readonly AdminScope[],
): Promise<AdminScope[]> {
  const denied = (detail: string) =>
    new OAuthError('access_denied', 'This person may not have an admin token for these scopes.', { detail });
  if (!passedSecondFactor(amr)) throw denied('no second factor in the approving session');
  const assignment = await p.stores.adminRoles.get(userId);
  if (!assignment) throw denied('no admin role');
  const held = roleScopes(assignment.role);
  const granted = asked.filter((s) => held.has(s));
  if (granted.length === 0) throw denied(`role ${assignment.role} holds none of the scopes asked`);
  return granted;
}

/** Who an admin token speaks for: an automation client, or a person through a client (the CLI's device flow). */
export interface AdminTokenPrincipal {
  kind: 'user' | 'client';
  /** The user id (a person) or the client id (a client acting for itself). */
  id: string;
  /** The admin scopes the token holds that the person's role still holds now (a client: its token's). */
  scopes: ReadonlySet<string>;
  /** A person's last sign-in (epoch seconds). */
  authTime?: number;
  /** The client the token was issued to. */
  clientId: string;
}

/** What verifying an admin token uses: the resource checks, the grant of a person's token, users, clients, roles. */
export type AdminTokenDeps = ResourceTokenDeps &
  Pick<Provider, 'grantFacts'> &
  StoreDeps<'grants' | 'users' | 'clients' | 'adminRoles' | 'revocations'>;

/** The realm of the admin API's Bearer challenges (http/admin-api.ts sends the same without a token). */
const REALM = 'tessera-admin';

/**
 * An OAuthError with a challenge: the one it has (DPoP), else a Bearer challenge of the admin realm (RFC 6750 section
 * 3).
 */
function withChallenge(err: OAuthError): OAuthError {
  if (err.headers?.['www-authenticate'] !== undefined) return err;
  const description = err.description.replace(/["\\]/g, '');
  return new OAuthError(err.code, err.description, {
    status: err.status,
    ...(err.detail !== undefined ? { detail: err.detail } : {}),
    headers: {
      ...(err.headers ?? {}),
      'www-authenticate': `Bearer realm="${REALM}", error="${err.code}", error_description="${description}"`,
    },
  });
}

const has = (set: ReadonlySet<string>) => (s: string) => set.has(s);

/**
 * Verifies the admin token of a request to `htu` (the request's URL without query, for DPoP).
 * Throws an OAuthError (invalid_token, invalid_dpop_proof, use_dpop_nonce) with the challenge
 * headers to send.
 */
export async function verifyAdminToken(
  p: AdminTokenDeps,
  req: ProtocolRequest,
  htu: string,
): Promise<AdminTokenPrincipal> {
  let verified;
  try {
    verified = await verifyResourceToken(p, req, { htu, audiences: [adminAudience(p.config.issuer)] });
  } catch (err) {
    throw err instanceof OAuthError ? withChallenge(err) : err;
  }
  const { claims, refuse } = verified;
  const invalid = (detail: string) => withChallenge(refuse('The access token is invalid or expired.', detail));
  const held = splitScope(claims.scope).filter(knownAdminScope);
  if (held.length === 0) throw invalid('no admin scope');
  // The client the token was issued to must still be an enabled admin client (its tokens are cut off
  // by the revocation check when it is disabled; a client no longer an admin client is refused here).
  const client = await p.stores.clients.get(claims.client_id);
  if (!client || client.disabled || !isAdminClient(client)) throw invalid('client not an enabled admin client');
  const clientScopes = new Set(client.scopes);
  // A person's token comes from a user grant (the device flow records the grant and the token's jti);
  // a client's from client_credentials, which records none, names the client as sub and carries no
  // authentication of a person (auth_time, amr).
  const grant = await grantOfToken(p, claims);
  if (grant) {
    const [user, assignment] = await Promise.all([
      p.stores.users.get(grant.userId),
      p.stores.adminRoles.get(grant.userId),
    ]);
    if (!user || user.disabled) throw invalid('user missing or disabled');
    if (!passedSecondFactor(claims.amr)) throw invalid('no second factor');
    if (!assignment) throw invalid('no admin role');
    const role = roleScopes(assignment.role);
    return {
      kind: 'user',
      id: user.id,
      scopes: new Set(held.filter(has(role)).filter(has(clientScopes))),
      ...(typeof claims.auth_time === 'number' ? { authTime: claims.auth_time } : {}),
      clientId: client.clientId,
    };
  }
  if (claims.sub !== claims.client_id || claims.auth_time !== undefined || claims.amr !== undefined)
    throw invalid('neither a person grant nor a client token');
  return {
    kind: 'client',
    id: client.clientId,
    scopes: new Set(held.filter(has(clientScopes))),
    clientId: client.clientId,
  };
}
