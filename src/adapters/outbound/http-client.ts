// The outbound HTTP port (ports/outbound.ts) over node:http and node:https, safe to point at any
// URL a client registers: the URL rules and address rules of protocol/client-auth/public-address.ts
// are applied before anything is sent, to an address literal in the URL, and to every address a
// host name resolves to (inside the DNS lookup handed to node, so the address checked is the address
// connected to: no window for DNS rebinding). No redirects are followed; each exchange has a timeout
// and a size limit. The exchanges with upstream identity providers (fetch, for openid-client) follow
// the same rules, except that a provider the operator marked privateNetwork may be reached over http
// at private and loopback addresses (never link-local, unspecified or multicast ones).
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { OutboundError, type OutboundDocument, type OutboundHttp, type OutboundRequest } from '../../ports/outbound.ts';
import { addressAllowed, fetchableUriProblem } from '../../protocol/client-auth/public-address.ts';

// node:http taken as its CommonJS object, one property read: an ES import of it reads every export,
// WebSocket among them, which loads Node's bundled undici (about 13 MB of the idle process) for
// nothing Tessera uses.
const { request: httpRequest } = process.getBuiltinModule('node:http');

/** Largest answer read back from a client endpoint the server posts to (the body is discarded). */
export const MAX_POST_RESPONSE_BYTES = 16 * 1024;

/** Resolves a host name to all of its addresses (node:dns lookup, or a test's own table). */
export type Resolver = (
  hostname: string,
  family: number,
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const systemResolver: Resolver = (hostname, family, callback) => dnsLookup(hostname, { all: true, family }, callback);

/**
 * Test-only options of the outbound client: a CA to trust instead of the system's (a test's own
 * HTTPS server) and a resolver (names that resolve to chosen addresses). The composition root
 * never passes them and no setting reaches them; every address is checked all the same.
 */
export interface OutboundTestOptions {
  ca?: string;
  resolve?: Resolver;
}

/** A DNS lookup that fails unless every address the name resolves to may be reached. */
function checkedLookup(allowLoopback: boolean, resolve: Resolver = systemResolver): LookupFunction {
  return lookupWhere((ip) => addressAllowed(ip, allowLoopback), resolve);
}

/** A DNS lookup that fails unless `allowed` accepts every address the name resolves to. */
function lookupWhere(allowed: (ip: string) => boolean, resolve: Resolver = systemResolver): LookupFunction {
  return ((hostname: string, options: { all?: boolean; family?: number }, callback: (...args: unknown[]) => void) => {
    resolve(hostname, options?.family ?? 0, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err);
      const bad = addresses.find((a) => !allowed(a.address));
      if (bad || addresses.length === 0) {
        return callback(
          Object.assign(new Error(`${hostname} resolves to a non-public address${bad ? ` (${bad.address})` : ''}`), {
            code: 'ENOTPUBLIC',
          }),
        );
      }
      if (options?.all) callback(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  }) as LookupFunction;
}

/** The URL to send to, or why it may not be reached (an OutboundError, reason refused). */
function target(uri: string, { name, allowLoopback }: OutboundRequest): URL | OutboundError {
  const problem = fetchableUriProblem(name, uri, allowLoopback);
  if (problem) return new OutboundError('refused', problem);
  const u = new URL(uri);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && !addressAllowed(host, allowLoopback))
    return new OutboundError('refused', `${name} host ${host} is not a public address`);
  return u;
}

/** A Content-Type that says JSON: application/json or application/<something>+json. */
const JSON_TYPE = /^application\/(?:[a-z0-9.!#$&^_-]+\+)?json\s*(?:;|$)/i;

function getDocument(
  uri: string,
  { name, allowLoopback, timeoutMs, accept, maxBytes }: OutboundRequest & { accept: string; maxBytes: number },
  jsonOnly: boolean,
  test: OutboundTestOptions,
): Promise<OutboundDocument> {
  const u = target(uri, { name, allowLoopback, timeoutMs });
  if (u instanceof OutboundError) return Promise.reject(u);
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const fail = (reason: OutboundError['reason'], message: string, status?: number) => {
      req.destroy();
      reject(new OutboundError(reason, message, status));
    };
    const timer = setTimeout(() => fail('failed', `${name} did not answer within ${timeoutMs} ms`), timeoutMs);
    const req = send(
      u,
      {
        method: 'GET',
        lookup: checkedLookup(allowLoopback, test.resolve),
        headers: { accept },
        agent: false,
        ...(test.ca !== undefined ? { ca: test.ca } : {}),
      },
      (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          clearTimeout(timer);
          return fail(
            'failed',
            `${name} answered ${res.statusCode}${res.statusCode! >= 300 && res.statusCode! < 400 ? ' (redirects are not followed)' : ''}`,
            res.statusCode,
          );
        }
        if (jsonOnly && !JSON_TYPE.test(res.headers['content-type'] ?? '')) {
          clearTimeout(timer);
          return fail('invalid', `${name} answer is not application/json`);
        }
        const declared = Number(res.headers['content-length'] ?? 0);
        if (declared > maxBytes) {
          clearTimeout(timer);
          return fail('invalid', `${name} document is larger than ${maxBytes} bytes`);
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) {
            clearTimeout(timer);
            fail('invalid', `${name} document is larger than ${maxBytes} bytes`);
            return;
          }
          chunks.push(c);
        });
        res.on('error', (e) => {
          clearTimeout(timer);
          fail('failed', e.message);
        });
        res.on('end', () => {
          clearTimeout(timer);
          if (size > maxBytes) return;
          try {
            const cacheControl = res.headers['cache-control'];
            resolve({
              body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
              ...(cacheControl !== undefined ? { cacheControl } : {}),
            });
          } catch {
            reject(new OutboundError('invalid', `${name} document is not JSON`));
          }
        });
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new OutboundError(e.code === 'ENOTPUBLIC' ? 'refused' : 'failed', `${name} fetch failed: ${e.message}`));
    });
    req.end();
  });
}

/** POSTs a form (back-channel logout): `post` with the form's fields, the answer's status only. */
function postForm(
  uri: string,
  form: URLSearchParams,
  request: OutboundRequest,
  test: OutboundTestOptions,
): Promise<number> {
  const headers = { 'content-type': 'application/x-www-form-urlencoded', 'cache-control': 'no-store' };
  return post(uri, { headers, body: form.toString() }, { ...request, keepBytes: 0 }, test).then((r) => r.status);
}

/**
 * POSTs a body with caller-chosen fields (OutboundHttp.post: webhook deliveries): the same checked
 * lookup, fresh connection and one timer for the whole exchange as every other request; the answer's
 * first `keepBytes` bytes are kept, the body read up to MAX_POST_RESPONSE_BYTES and then cut off.
 */
function post(
  uri: string,
  init: { headers: Record<string, string>; body: string },
  { name, allowLoopback, timeoutMs, keepBytes }: OutboundRequest & { keepBytes: number },
  test: OutboundTestOptions,
): Promise<{ status: number; body: string }> {
  const u = target(uri, { name, allowLoopback, timeoutMs });
  if (u instanceof OutboundError) return Promise.reject(u);
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  const body = Buffer.from(init.body);
  const headers: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(init.headers)) if (!OWN_FIELDS.has(k.toLowerCase())) headers[k.toLowerCase()] = v;
  headers['content-length'] = body.length;
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (r: { status: number; body: string } | OutboundError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (r instanceof OutboundError) {
        req.destroy();
        reject(r);
      } else resolve(r);
    };
    const timer = setTimeout(
      () => finish(new OutboundError('failed', `${name} did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const req = send(
      u,
      {
        method: 'POST',
        lookup: checkedLookup(allowLoopback, test.resolve),
        agent: false,
        headers,
        ...(test.ca !== undefined ? { ca: test.ca } : {}),
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        let size = 0;
        const answer = () => ({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (kept < keepBytes) {
            const part = c.subarray(0, keepBytes - kept);
            chunks.push(part);
            kept += part.length;
          }
          if (size > MAX_POST_RESPONSE_BYTES) {
            finish(answer());
            req.destroy();
          }
        });
        res.on('error', (e) => finish(new OutboundError('failed', `${name}: ${e.message}`)));
        res.on('end', () => finish(answer()));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) =>
      finish(new OutboundError(e.code === 'ENOTPUBLIC' ? 'refused' : 'failed', `${name} request failed: ${e.message}`)),
    );
    req.end(body);
  });
}

/**
 * Addresses an operator's on-premise provider (privateNetwork) still may not be: "this host"
 * (0.0.0.0/8, ::), link-local (169.254.0.0/16 with the cloud metadata services, fe80::/10, also
 * through NAT64), multicast, and 240.0.0.0/4 with the broadcast address, and the cloud metadata
 * services outside link-local (AWS's IPv6 fd00:ec2::254, Alibaba Cloud's 100.100.100.200). A discovery
 * document names the endpoints, so even a trusted upstream must not point Tessera at these.
 */
const notOnPrivateNetwork = (() => {
  const list = new BlockList();
  list.addSubnet('0.0.0.0', 8, 'ipv4');
  list.addSubnet('169.254.0.0', 16, 'ipv4');
  list.addSubnet('224.0.0.0', 4, 'ipv4');
  list.addSubnet('240.0.0.0', 4, 'ipv4');
  list.addAddress('::', 'ipv6');
  list.addSubnet('fe80::', 10, 'ipv6');
  list.addSubnet('ff00::', 8, 'ipv6');
  list.addSubnet('64:ff9b::a9fe:0', 112, 'ipv6');
  list.addAddress('fd00:ec2::254', 'ipv6');
  list.addAddress('100.100.100.200', 'ipv4');
  list.addAddress('64:ff9b::6464:64c8', 'ipv6');
  return list;
})();

/** Whether a privateNetwork provider's URL may connect to `ip` (private and loopback addresses may). */
export function privateNetworkAddressAllowed(ip: string): boolean {
  const addr = ip.replace(/^\[|\]$/g, '');
  if (addr.includes('%')) return false; // a zone index: link-local
  const family = isIP(addr);
  if (family === 0) return false;
  return !notOnPrivateNetwork.check(addr, family === 4 ? 'ipv4' : 'ipv6');
}

/** The URL an upstream exchange goes to, or why it may not (privateNetwork: http and private addresses too). */
function upstreamTarget(uri: string, request: OutboundRequest & { privateNetwork: boolean }): URL | OutboundError {
  if (!request.privateNetwork) return target(uri, request);
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return new OutboundError('refused', `${request.name} must be an absolute URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    return new OutboundError('refused', `${request.name} must use http or https`);
  if (u.username || u.password || u.hash)
    return new OutboundError('refused', `${request.name} must not carry credentials or a fragment`);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && !privateNetworkAddressAllowed(host))
    return new OutboundError('refused', `${request.name} host ${host} may not be reached`);
  return u;
}

/** Statuses whose answer has no body (a Response refuses one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);
/** Request fields node sets itself, or that would let a caller reshape the exchange. */
const OWN_FIELDS = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade']);

/**
 * One exchange with an upstream identity provider (OutboundHttp.fetch): the same checked DNS lookup
 * and fresh connection as every other request, one timer for the whole exchange (connecting,
 * sending, the answer and its body), the body read whole up to `maxBytes`, no redirect followed.
 */
function upstreamFetch(
  uri: string,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
  request: OutboundRequest & { maxBytes: number; privateNetwork: boolean },
  test: OutboundTestOptions,
): Promise<Response> {
  const { name, allowLoopback, timeoutMs, maxBytes, privateNetwork } = request;
  const u = upstreamTarget(uri, request);
  if (u instanceof OutboundError) return Promise.reject(u);
  if (init.method !== 'GET' && init.method !== 'POST')
    return Promise.reject(new OutboundError('refused', `${name}: method ${String(init.method)} is not used`));
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  const body = init.body !== undefined ? Buffer.from(init.body) : undefined;
  const headers: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(init.headers)) if (!OWN_FIELDS.has(k.toLowerCase())) headers[k.toLowerCase()] = v;
  if (body) headers['content-length'] = body.length;
  const allowed = privateNetwork ? privateNetworkAddressAllowed : (ip: string) => addressAllowed(ip, allowLoopback);
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (reason: OutboundError['reason'], message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(new OutboundError(reason, message));
    };
    const timer = setTimeout(() => fail('failed', `${name} did not answer within ${timeoutMs} ms`), timeoutMs);
    const req = send(
      u,
      {
        method: init.method,
        lookup: lookupWhere(allowed, test.resolve),
        agent: false,
        headers,
        ...(test.ca !== undefined ? { ca: test.ca } : {}),
      },
      (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        if (Number(res.headers['content-length'] ?? 0) > maxBytes)
          return fail('invalid', `${name} answer is larger than ${maxBytes} bytes`);
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) return fail('invalid', `${name} answer is larger than ${maxBytes} bytes`);
          chunks.push(c);
        });
        res.on('error', (e) => fail('failed', `${name}: ${e.message}`));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          const fields = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (v === undefined) continue;
            try {
              for (const x of Array.isArray(v) ? v : [v]) fields.append(k, x);
            } catch {
              // A field value a Response cannot hold: left out (nothing Tessera reads is lost with it).
            }
          }
          if (status < 200 || status > 599) {
            reject(new OutboundError('failed', `${name} answered with status ${status}`));
            return;
          }
          const bytes = NULL_BODY.has(status) ? null : new Uint8Array(Buffer.concat(chunks));
          resolve(new Response(bytes, { status, headers: fields }));
        });
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) =>
      fail(e.code === 'ENOTPUBLIC' ? 'refused' : 'failed', `${name} request failed: ${e.message}`),
    );
    req.end(body);
  });
}

/**
 * The outbound HTTP client (stateless: every request opens its own connection, agent: false).
 * `test` is for tests only (OutboundTestOptions); production passes nothing.
 */
export function outboundHttp(test: OutboundTestOptions = {}): OutboundHttp {
  return {
    getJson: (uri, request) => getDocument(uri, request, false, test).then((d) => d.body),
    getJsonDocument: (uri, request) => getDocument(uri, request, true, test),
    postForm: (uri, form, request) => postForm(uri, form, request, test),
    post: (uri, init, request) => post(uri, init, request, test),
    fetch: (uri, init, request) => upstreamFetch(uri, init, request, test),
  };
}
