import type { Words } from '../i18n/catalog.ts';

/** The standard scopes Tessera knows, what the consent page says of them, and the claims they release. */
export const STANDARD_SCOPES: Readonly<Record<string, { description: string; claims: readonly string[] }>> = {
  openid: { description: 'Sign you in and know your user id', claims: ['sub'] },
  profile: {
    description: 'Your name and username',
    claims: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'],
  },
  email: { description: 'Your email address', claims: ['email', 'email_verified'] },
  offline_access: { description: 'Stay connected when you are not using it', claims: [] },
};

export function supportedScopes(extra: readonly string[]): string[] {
  return [...new Set([...Object.keys(STANDARD_SCOPES), ...extra])];
}

export function describeScope(scope: string): string {
  return STANDARD_SCOPES[scope]?.description ?? `Access: ${scope}`;
}

/**
 * What the consent page says of `scope` (issue 18: in the page's language): the description a resource
 * server's record gives it (`registered`, an operator's text), else Tessera's own.
 * TODO(issue 18, scopes): catalog messages for the standard scopes, operators' texts per language.
 */
export function scopeWords(scope: string, registered: string | undefined): Words {
  return { operator: { en: registered || describeScope(scope) } };
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
