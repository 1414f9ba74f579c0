// Request mapping: what the protocol is given of an HTTP request (a ProtocolRequest), from a
// Fastify request or the form lane's (form-lane.ts). Query or form parameters keep their
// duplicates (the protocol refuses repeated ones), JSON only for the routes marked json.
import type { FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import { OAuthError, invalidRequest } from '../protocol/errors.ts';
import type { ProtocolRequest } from '../protocol/provider.ts';
import type { CertificateReader } from './client-certificate.ts';
import { parseCookies } from './cookies.ts';
import type { RouteSpec } from './routes.ts';

/** What the route pipeline needs of a request: Fastify's, or the form lane's (form-lane.ts). */
export type RequestLike = Pick<FastifyRequest, 'method' | 'url' | 'headers' | 'body' | 'ip' | 'raw' | 'log'>;

/** A form body's content type, UTF-8 if a charset is named. */
export const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;
const JSON_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/** Parameters that never travel in the query string of a POST: credentials and tokens. */
const BODY_ONLY = ['client_secret', 'access_token', 'refresh_token', 'code', 'token'];

/** What the mapping needs of its server. */
export interface RequestMapping {
  /** Cookies are Secure: only __Host- names are read (cookies.ts). */
  secure: boolean;
  clientCertificate: CertificateReader;
}

/** The ProtocolRequest of `req` to a route of `spec`; an OAuthError when its body or query is refused. */
export function toProtocolRequest(
  m: RequestMapping,
  req: RequestLike,
  spec: Pick<RouteSpec, 'kind' | 'form' | 'json'>,
): ProtocolRequest {
  let params: URLSearchParams;
  if (spec.json) return jsonRequest(req);
  if (req.method === 'GET') {
    const q = req.url.indexOf('?');
    params = new URLSearchParams(q >= 0 ? req.url.slice(q + 1) : '');
  } else {
    const type = req.headers['content-type'];
    const body = typeof req.body === 'string' ? req.body : '';
    if (type === undefined && body === '') params = new URLSearchParams();
    else if (type !== undefined && FORM_TYPE.test(type)) params = new URLSearchParams(body);
    else if (spec.form || body !== '') {
      throw invalidRequest('The request body must be application/x-www-form-urlencoded.');
    } else params = new URLSearchParams();
    if (req.url.includes('?') && spec.kind !== 'page') {
      const q = new URLSearchParams(req.url.slice(req.url.indexOf('?') + 1));
      for (const k of BODY_ONLY) {
        if (q.has(k)) throw invalidRequest(`${k} must not be sent in the query string.`);
      }
    }
  }
  const out: ProtocolRequest = {
    method: req.method,
    params,
    headers: req.headers,
    cookies: parseCookies(req.headers.cookie, m.secure),
    ip: req.ip,
  };
  const cert = m.clientCertificate(req.raw);
  if (cert) out.clientCertificate = cert;
  return out;
}

/** A JSON route's request: a POST or PUT body must be one application/json object (the protocol checks its shape). */
function jsonRequest(req: RequestLike): ProtocolRequest {
  const base = { method: req.method, params: new URLSearchParams(), headers: req.headers, cookies: {}, ip: req.ip };
  if (req.url.includes('?')) throw invalidRequest('This endpoint takes no query parameters.');
  if (req.method !== 'POST' && req.method !== 'PUT') return base;
  const type = req.headers['content-type'];
  if (type === undefined || !JSON_TYPE.test(type)) throw invalidRequest('The request body must be application/json.');
  try {
    return { ...base, json: JSON.parse(typeof req.body === 'string' ? req.body : '') };
  } catch {
    throw new OAuthError('invalid_client_metadata', 'The request body is not valid JSON.');
  }
}

/**
 * The client's address of a raw request, as Fastify's request.ip has it: with TESSERA_TRUST_PROXY,
 * the nearest address not of a trusted proxy; else the peer's.
 */
export function clientIpReader(trustProxy: readonly string[]): (req: IncomingMessage) => string {
  if (!trustProxy.length) return (req) => req.socket.remoteAddress ?? '';
  const trust = proxyAddr.compile([...trustProxy]);
  return (req) => {
    const all = proxyAddr.all(req, trust);
    return all[all.length - 1]!;
  };
}
