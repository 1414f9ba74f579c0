import { msg, type MessageKey, type Words } from '../i18n/catalog.ts';
import type { ScopeDescription } from '../ports/resource-servers.ts';
import { knownAdminScope } from './admin-scopes.ts';

/**
 * The standard scopes Tessera knows, what the consent page says of them (a catalog message: issue 18)
 * and the claims they release.
 */
export const STANDARD_SCOPES: Readonly<Record<string, { description: MessageKey; claims: readonly string[] }>> = {
  openid: { description: 'scopes.openid', claims: ['sub'] },
  profile: {
    description: 'scopes.profile',
    claims: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'],
  },
  email: { description: 'scopes.email', claims: ['email', 'email_verified'] },
  offline_access: { description: 'scopes.offline_access', claims: [] },
};

export function supportedScopes(extra: readonly string[]): string[] {
  return [...new Set([...Object.keys(STANDARD_SCOPES), ...extra])];
}

/**
 * What the consent page says of `scope`, in the page's language (issue 18): for an admin scope (the
 * CLI's device flow), Tessera's own words; else the description a resource server's record gives it
 * (`registered`, an operator's text, in the languages they wrote it in), else Tessera's own message for
 * a standard scope, else "Access: <scope>".
 */
export function scopeWords(scope: string, registered: ScopeDescription | undefined): Words {
  if (knownAdminScope(scope)) return msg(`scopes.${scope}`);
  const text = typeof registered === 'string' ? { en: registered } : registered;
  if (text?.en) return { operator: text };
  const standard = Object.hasOwn(STANDARD_SCOPES, scope) ? STANDARD_SCOPES[scope] : undefined;
  return standard ? msg(standard.description) : msg('scopes.other', { scope });
}

export function claimsSupported(): string[] {
  return [
    'iss',
    'aud',
    'exp',
    'iat',
    'auth_time',
    'nonce',
    'at_hash',
    'sid',
    'amr',
    ...new Set(Object.values(STANDARD_SCOPES).flatMap((s) => s.claims)),
  ];
}
