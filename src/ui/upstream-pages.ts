/**
 * Upstream sign-in pieces of the pages (issue 17): the login pages' "Continue with <provider>"
 * buttons, each a small form of its own (POST, the login form's CSRF token, no JavaScript), and the
 * page shown when a sign-in through a provider did not go through, with the way back.
 */
import { t } from '../i18n/catalog.ts';
import type { Locale } from '../i18n/negotiate.ts';
import { outcomePage, type OutcomeView } from './recovery-pages.ts';
import { html, layout, type Html, chromeOf, type PageChrome } from './html.ts';

/** A login page's provider button: its form's action and the provider's label. */
export interface UpstreamButtonBlock {
  id: string;
  label: string;
  action: string;
}

/** The providers' buttons, in the order given, under an "or" heading for screen readers and eyes alike. */
export function upstreamButtons(L: Locale, buttons: readonly UpstreamButtonBlock[], csrf: string): Html | '' {
  if (!buttons.length) return '';
  return html`<section class="upstream-signin" aria-labelledby="upstream-heading">
<h2 id="upstream-heading">${t(L, 'interaction.upstream.or')}</h2>
${buttons.map(
  (b) => html`<form method="post" action="${b.action}">
<input type="hidden" name="csrf" value="${csrf}">
<button type="submit" class="secondary" data-upstream="${b.id}">${t(L, 'interaction.upstream.continueWith', { provider: b.label })}</button>
</form>
`,
)}</section>`;
}

/** A sign-in through a provider that did not go through: what happened, and where to go back to. */
export const upstreamProblemPage = (p: OutcomeView): string => outcomePage(p, true);

/**
 * The way on after a bounced form_post (protocol/upstream/callback.ts): the bounce page's form may
 * only lead to Tessera (its CSP form-action), and a browser holds every redirect that follows a form
 * submission to that, so a redirect to the application would be blocked. This page ends that
 * navigation here and goes on by a refresh (which form-action does not govern), with a link.
 */
export function upstreamContinuePage(p: PageChrome & { location: string }): string {
  const L = p.locale ?? 'en';
  const body = html`<meta http-equiv="refresh" content="0;url=${p.location}">
<h1>${t(L, 'interaction.continuing.heading')}</h1>
<p><a href="${p.location}">${t(L, 'interaction.continuing.link')}</a></p>`;
  return layout({ title: t(L, 'interaction.continuing.title'), ...chromeOf(p), body });
}
