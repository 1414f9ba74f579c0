// What the login pages offer of the upstream identity providers (issue 17): a button per enabled
// provider, and the ways a sign-in goes straight to one: the tessera_idp_hint parameter, or an email
// address (login_hint, or typed as the username with no password) in a provider's home-realm
// domains. The login pages (interaction.ts, account.ts) import this file; the endpoints behind the
// buttons are in signin.ts, which imports them in turn.
import { msg, type Msg } from '../../i18n/catalog.ts';
import type { UpstreamProvider } from '../../ports/upstreams.ts';
import type { StoreDeps } from '../provider.ts';
import { enabledUpstreams, PROVIDER_ID } from './state.ts';

/** A login page's button: "Continue with <label>", a small POST form to `action` with the login form's CSRF token. */
export interface UpstreamButton {
  id: string;
  label: string;
  action: string;
}

/**
 * The buttons of the enabled providers, in their order (`actionFor` gives each one's form action),
 * and where their forms may lead: a button's POST is answered with a redirect to the provider, and
 * a page's CSP form-action covers every redirect that follows a form submission, so the login page
 * names the origins of the providers' issuer, discovery URL and authorization endpoint (a provider
 * whose discovery names an authorization endpoint on yet another host needs it set in its record).
 */
export async function upstreamButtons(
  p: StoreDeps<'upstreams'>,
  actionFor: (providerId: string) => string,
): Promise<{ buttons: UpstreamButton[]; formActions: string[] }> {
  const enabled = await enabledUpstreams(p);
  const origins = new Set<string>();
  for (const u of enabled)
    for (const url of [u.issuer, u.discoveryUrl, u.authorizationEndpoint]) {
      const origin = originOf(url);
      if (origin) origins.add(origin);
    }
  return {
    buttons: enabled.map((u) => ({ id: u.id, label: u.label, action: actionFor(u.id) })),
    formActions: [...origins],
  };
}

/** The http(s) origin of a URL (a Microsoft issuer template's `{tenantid}` is only in its path). */
function originOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.origin : undefined;
  } catch {
    return undefined;
  }
}

/** The login page's alert when an upstream could not be reached to start a sign-in there. */
export const unreachable = (label: string): Msg => msg('interaction.error.upstreamUnreachable', { provider: label });

/** The domain of an email address, lower-cased; undefined when it is not one. */
export function emailDomain(email: string | undefined): string | undefined {
  if (!email) return undefined;
  const at = email.lastIndexOf('@');
  if (at <= 0 || at === email.length - 1) return undefined;
  return email.slice(at + 1).toLowerCase();
}

/**
 * The enabled provider a sign-in goes straight to: the one tessera_idp_hint names (an unknown or
 * disabled id is ignored, as Keycloak does with kc_idp_hint), else the one whose home-realm domains
 * hold the domain of `email` (a login_hint, or a username typed without a password).
 */
export async function hintedUpstream(
  p: StoreDeps<'upstreams'>,
  hint: { idpHint?: string | undefined; email?: string | undefined },
): Promise<UpstreamProvider | undefined> {
  const named = hint.idpHint !== undefined && PROVIDER_ID.test(hint.idpHint) ? hint.idpHint : undefined;
  const domain = emailDomain(hint.email);
  if (named === undefined && domain === undefined) return undefined;
  const enabled = await enabledUpstreams(p);
  if (named !== undefined) {
    const found = enabled.find((u) => u.id === named);
    if (found) return found;
  }
  return domain === undefined ? undefined : enabled.find((u) => u.homeRealmDomains.includes(domain));
}
