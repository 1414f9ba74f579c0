// Rendering: an endpoint's OAuthResponse as status, header fields and body (JSON, a redirect, an
// auto-submitting form or an HTML page with its nonce-based CSP), an OAuthError as the route's
// kind shows errors, and any other failure of a route as the OAuthError it amounts to. The reply
// is Fastify's, or the form lane's RawReply: both are ReplyLike.
import { NO_STORE } from '../protocol/endpoints/token.ts';
import { OAuthError } from '../protocol/errors.ts';
import { problemView } from '../protocol/interaction/problem.ts';
import { randomToken } from '../protocol/hash.ts';
import type { OAuthResponse } from '../protocol/provider.ts';
import { BackendUnavailableError } from '../ports/unavailable.ts';
import { serializeCookie } from './cookies.ts';
import { API_CSP, JSON_HEADERS } from './headers.ts';
import { closeAfterAnswer } from './node-server.ts';
import { renderFormPost, renderView } from './render-page.ts';
import type { RequestLike } from './request.ts';
import type { PageBrand, PageChrome } from '../ui/html.ts';
import type { RequestLanguage } from './language.ts';
import type { Kind } from './routes.ts';

/** What the route pipeline needs of a reply: Fastify's reply, or a RawReply (form-lane.ts). */
export interface ReplyLike {
  statusCode: number;
  header(name: string, value: string | string[]): ReplyLike;
  headers(values: Readonly<Record<string, string | string[]>>): ReplyLike;
  code(status: number): ReplyLike;
  type(contentType: string): ReplyLike;
  send(payload?: string | Buffer): ReplyLike;
  /**
   * The deployment's branding for a page (a getter server.ts decorates Fastify's replies with); absent: Tessera's own.
   */
  readonly pageBrand?: PageBrand;
  /**
   * What the request says about a page's language (a getter server.ts decorates Fastify's replies with); absent:
   * English.
   */
  readonly pageLanguage?: RequestLanguage;
}

/** How cookies are written (cookies.ts). */
export type CookieOptions = Parameters<typeof serializeCookie>[1];

/** Retry-After on 503 answers given while the database cannot be reached. */
const RETRY_AFTER_SECONDS = 2;

/** Sends an endpoint's answer with its cookies. */
export function send(reply: ReplyLike, res: OAuthResponse, cookieOpts: CookieOptions): ReplyLike {
  const cookies = 'cookies' in res && res.cookies ? res.cookies.map((c) => serializeCookie(c, cookieOpts)) : [];
  if (cookies.length) reply.header('set-cookie', cookies);
  return render(reply, res);
}

/** Sends an answer, leaving out any cookies it names (`send` writes them). */
export function render(reply: ReplyLike, res: OAuthResponse): ReplyLike {
  switch (res.kind) {
    case 'json':
      reply.headers(JSON_HEADERS);
      if (res.headers) reply.headers(res.headers);
      return reply.code(res.status).send(JSON.stringify(res.body));
    case 'raw':
      reply.headers({ 'content-security-policy': API_CSP, 'content-type': res.contentType });
      if (res.headers) reply.headers(res.headers);
      return reply.code(res.status).send(res.body);
    case 'redirect':
      return reply.code(303).header('cache-control', 'no-store').header('location', res.location).send();
    case 'form_post': {
      const nonce = randomToken(16);
      const csp =
        `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; ` +
        `form-action ${cspSource(res.action)}; frame-ancestors 'none'; base-uri 'none'`;
      return reply
        .code(200)
        .headers({ 'cache-control': 'no-store', 'content-security-policy': csp })
        .type('text/html; charset=utf-8')
        .send(renderFormPost(res.action, res.fields, nonce, reply.pageLanguage?.localeFor(undefined)));
    }
    case 'page': {
      if (res.headers) reply.headers(res.headers);
      const nonce = randomToken(16);
      const actions = ["'self'", ...(res.formActions ?? []).map(cspSource)].join(' ');
      const frames = res.frameSources?.length
        ? `; frame-src ${[...new Set(res.frameSources.map(cspSource))].join(' ')}`
        : '';
      const csp =
        `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src 'self'; ` +
        `form-action ${actions}; frame-ancestors 'none'; ` +
        `base-uri 'none'${frames}`;
      const language = reply.pageLanguage;
      const chrome: PageChrome = {
        nonce,
        brand: reply.pageBrand,
        locale: language?.localeFor(res.language) ?? 'en',
        languages: language?.links(res.language) ?? [],
      };
      return reply
        .code(res.status)
        .headers({
          'cache-control': 'no-store',
          'content-security-policy': csp,
          'content-language': chrome.locale!,
          // One address, a page in the language the request's header and cookie chose.
          vary: 'Accept-Language, Cookie',
        })
        .type('text/html; charset=utf-8')
        .send(renderView(res.view, chrome));
    }
  }
}

/** Sends `err` as a route of `kind` shows errors: an error page, a Bearer challenge, or OAuth JSON. */
export function sendError(reply: ReplyLike, kind: Kind, err: OAuthError): ReplyLike {
  if (kind === 'page') {
    // The page says what happened in the reader's language; the description (for developers) is its detail.
    const problem = err.status >= 500 ? 'interaction.problem.unavailable' : 'interaction.problem.requestNotValid';
    const view = problemView(problem, undefined, err.description);
    return render(reply, { kind: 'page', status: err.status, view });
  }
  if (kind === 'bearer' && err.status < 500) {
    const challenge =
      err.detail === 'no token'
        ? 'Bearer realm="tessera"'
        : `Bearer realm="tessera", error="${err.code}", error_description="${err.description.replace(/["\\]/g, '')}"`;
    reply.header('www-authenticate', challenge);
  } else if (err.code === 'invalid_client') {
    reply.header('www-authenticate', 'Basic realm="tessera"');
  }
  if (err.headers) reply.headers(err.headers);
  return render(reply, { kind: 'json', status: err.status, body: err.toJSON(), headers: NO_STORE });
}

/** The answer to a request whose route threw: `kind` of the route, `route` its path. */
export function sendFailure(
  error: unknown,
  req: RequestLike,
  reply: ReplyLike,
  kind: Kind,
  route: string | undefined,
): ReplyLike {
  if (error instanceof BackendUnavailableError) {
    // The database or Redis cannot be reached now (down, restarting, failing over): nothing was
    // decided and nothing is wrong with the request, so fail closed with a retryable answer.
    const fields = { event: 'backend_unavailable', backend: error.backend, err: error.message };
    req.log.warn(fields, `${error.backend} unavailable`);
    reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    const description = 'The service is temporarily unavailable; retry later.';
    return sendError(reply, kind, new OAuthError('temporarily_unavailable', description));
  }
  if (error instanceof OAuthError) {
    if (error.detail) req.log.info({ oauth_error: error.code, detail: error.detail }, 'request refused');
    return sendError(reply, kind, error);
  }
  const status = (error as { statusCode?: number }).statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    const description =
      status === 413
        ? 'The request body is too large.'
        : status === 415
          ? 'Unsupported content type.'
          : 'The request could not be read.';
    req.log.info({ err: (error as Error).message, status }, 'bad request');
    // The client may still be sending the body: tell it the connection ends, and end it in stages.
    if (status === 413) closeAfterAnswer(req.raw, reply);
    return sendError(reply, kind, new OAuthError('invalid_request', description, { status }));
  }
  req.log.error({ err: error }, 'unhandled error');
  // RFC 7009 section 2.2.1: a revocation that could not be carried out is answered with 503,
  // so the client knows to retry.
  if (route?.endsWith('/revoke')) {
    const description = 'The token could not be revoked now; retry later.';
    return sendError(reply, kind, new OAuthError('temporarily_unavailable', description));
  }
  return sendError(reply, kind, new OAuthError('server_error', 'The server could not complete the request.'));
}

/** A URI's origin as a CSP source (its scheme for an opaque origin, such as a custom-scheme app). */
function cspSource(uri: string): string {
  try {
    const u = new URL(uri);
    return u.origin !== 'null' ? u.origin : u.protocol;
  } catch {
    return "'none'";
  }
}
