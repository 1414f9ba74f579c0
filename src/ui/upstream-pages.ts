/**
 * Upstream sign-in pieces of the pages (issue 17): the login pages' "Continue with <provider>"
 * buttons, each a small form of its own (POST, the login form's CSRF token, no JavaScript), and the
 * page shown when a sign-in through a provider did not go through, with the way back.
 */
import { html, layout, type Html, chromeOf, type PageChrome } from './html.ts';

/** A login page's provider button: its form's action and the provider's label. */
export interface UpstreamButtonBlock {
  id: string;
  label: string;
  action: string;
}

/** The providers' buttons, in the order given, under an "or" heading for screen readers and eyes alike. */
export function upstreamButtons(buttons: readonly UpstreamButtonBlock[], csrf: string): Html | '' {
  if (!buttons.length) return '';
  return html`<section class="upstream-signin" aria-labelledby="upstream-heading">
<h2 id="upstream-heading">Or continue with</h2>
${buttons.map(
  (b) => html`<form method="post" action="${b.action}">
<input type="hidden" name="csrf" value="${csrf}">
<button type="submit" class="secondary" data-upstream="${b.id}">Continue with ${b.label}</button>
</form>
`,
)}</section>`;
}

/** A sign-in through a provider that did not go through: what happened, and where to go back to. */
export function upstreamProblemPage(
  p: PageChrome & {
    title: string;
    message: string;
    link?: { href: string; text: string };
  },
): string {
  const body = html`<h1>${p.title}</h1>
<div class="alert" role="alert">${p.message}</div>
${p.link ? html`<p class="note"><a href="${p.link.href}">${p.link.text}</a></p>` : ''}`;
  return layout({ title: p.title, ...chromeOf(p), body });
}

/**
 * The way on after a bounced form_post (protocol/upstream/callback.ts): the bounce page's form may
 * only lead to Tessera (its CSP form-action), and a browser holds every redirect that follows a form
 * submission to that, so a redirect to the application would be blocked. This page ends that
 * navigation here and goes on by a refresh (which form-action does not govern), with a link.
 */
export function upstreamContinuePage(p: PageChrome & { location: string }): string {
  const body = html`<meta http-equiv="refresh" content="0;url=${p.location}">
<h1>Continuing…</h1>
<p><a href="${p.location}">Continue</a></p>`;
  return layout({ title: 'Continuing', ...chromeOf(p), body });
}
