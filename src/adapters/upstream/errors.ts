// How a failed exchange with an upstream becomes an UpstreamError (ports/upstream-client.ts): the
// three reasons the sign-in pages tell apart, and a message for the logs that names the provider,
// the step and what went wrong, but never a code, a token, a secret or the upstream's own
// error_description (text the upstream chose, which could echo anything).
import { OutboundError } from '../../ports/outbound.ts';
import { UpstreamError } from '../../ports/upstream-client.ts';
import * as oidc from 'openid-client';

/** An OAuth error code fit to show and log: a short plain token (RFC 6749's error values are). */
const PLAIN_CODE = /^[a-z0-9_.-]{1,64}$/i;

/** The causes of an error, outermost first (openid-client wraps what the fetch threw). */
function causes(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = err, i = 0; e !== undefined && e !== null && i < 8; i++) {
    out.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

/** The HTTP status an error carries (an unexpected status, an error body), if any. */
function statusOf(chain: unknown[]): number | undefined {
  for (const e of chain) {
    if (e instanceof Response) return e.status;
    if (e instanceof oidc.ResponseBodyError) return e.status;
    if (e instanceof OutboundError && e.status !== undefined) return e.status;
  }
  return undefined;
}

/**
 * The UpstreamError for anything an exchange threw. `unavailableOnly`: a step whose every failure
 * means the provider cannot be used now (discovery, its keys), whatever the answer looked like.
 */
export function upstreamError(err: unknown, providerId: string, step: string, unavailableOnly = false): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const chain = causes(err);
  const where = `upstream ${providerId} ${step}`;
  const outbound = chain.find((e): e is OutboundError => e instanceof OutboundError);
  if (outbound) {
    const reason = outbound.reason === 'invalid' && !unavailableOnly ? 'invalid' : 'unavailable';
    return new UpstreamError(reason, `${where}: ${outbound.message}`);
  }
  const denied = chain.find((e): e is oidc.AuthorizationResponseError => e instanceof oidc.AuthorizationResponseError);
  if (denied) {
    const code = PLAIN_CODE.test(denied.error) ? denied.error : undefined;
    return new UpstreamError(
      'denied',
      `${where}: the upstream answered with an error${code ? ` (${code})` : ''}`,
      code,
    );
  }
  const status = statusOf(chain);
  if (unavailableOnly || (status !== undefined && status >= 500))
    return new UpstreamError(
      'unavailable',
      `${where}: ${describe(err)}${status !== undefined ? ` (status ${status})` : ''}`,
    );
  return new UpstreamError('invalid', `${where}: ${describe(err)}${status !== undefined ? ` (status ${status})` : ''}`);
}

/** A log line for an openid-client or jose error: its fixed message, its code, the claim or field it is about. */
function describe(err: unknown): string {
  if (err instanceof oidc.ResponseBodyError)
    return `error response${PLAIN_CODE.test(err.error) ? ` ${err.error}` : ''}`;
  if (err instanceof oidc.WWWAuthenticateChallengeError) {
    const error = (err.cause as { parameters?: { error?: unknown } }[] | undefined)?.[0]?.parameters?.error;
    return `refused with a WWW-Authenticate challenge${typeof error === 'string' && PLAIN_CODE.test(error) ? ` ${error}` : ''}`;
  }
  if (!(err instanceof Error)) return 'failed';
  const code = (err as { code?: unknown }).code;
  // The claim or attribute a comparison failed on (openid-client puts it in a cause, sometimes nested).
  const named = causes(err).find((c) => {
    const x = c as { claim?: unknown; attribute?: unknown };
    return typeof x === 'object' && x !== null && (typeof x.claim === 'string' || typeof x.attribute === 'string');
  }) as { claim?: string; attribute?: string } | undefined;
  const about = named?.claim ?? named?.attribute ?? '';
  // openid-client's, oauth4webapi's and jose's messages are fixed texts (they name claims, never
  // their values); openid-client's general one is followed by the specific one it wraps.
  const inner = causes(err)
    .slice(1)
    .find((c): c is Error => c instanceof Error && c.message !== err.message);
  return `${err.message}${inner ? `: ${inner.message}` : ''}${typeof code === 'string' ? ` [${code}]` : ''}${about ? ` (${about})` : ''}`;
}
