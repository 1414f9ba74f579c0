import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { OAuthError } from '../protocol/errors.ts';
import { clientIpReader, toProtocolRequest, type RequestLike, type RequestMapping } from './request.ts';

const FORM = { kind: 'json', form: true } as const;
const PAGE = { kind: 'page', form: true } as const;
const NOT_FORM = { kind: 'bearer', form: false } as const;
const JSON_ROUTE = { kind: 'json', form: false, json: true } as const;

const plain: RequestMapping = { secure: false, clientCertificate: () => undefined };

function request(method: string, url: string, headers: Record<string, string> = {}, body?: string): RequestLike {
  const raw = { socket: { remoteAddress: '192.0.2.1' }, headers } as unknown as IncomingMessage;
  return { method, url, headers, body, ip: '192.0.2.1', raw, log: undefined as never };
}

type Spec = Parameters<typeof toProtocolRequest>[2];

/** The OAuthError mapping `req` throws. */
function refusal(req: RequestLike, spec: Spec): { code: string; description: string } {
  try {
    toProtocolRequest(plain, req, spec);
  } catch (err) {
    assert.ok(err instanceof OAuthError);
    return { code: err.code, description: err.description };
  }
  assert.fail('not refused');
}

describe('request mapping (ProtocolRequest)', () => {
  it("takes a GET's parameters from the query string, duplicates kept", () => {
    const out = toProtocolRequest(plain, request('GET', '/authorize?scope=a&scope=b&state=x'), PAGE);
    assert.deepEqual(out.params.getAll('scope'), ['a', 'b']);
    assert.equal(out.params.get('state'), 'x');
    assert.equal(out.method, 'GET');
    assert.equal(out.ip, '192.0.2.1');
    assert.equal('clientCertificate' in out, false);
  });

  it("takes a POST's parameters from a form body, with or without a UTF-8 charset", () => {
    for (const type of ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset="UTF-8"']) {
      const out = toProtocolRequest(plain, request('POST', '/token', { 'content-type': type }, 'a=1&a=2'), FORM);
      assert.deepEqual(out.params.getAll('a'), ['1', '2'], type);
    }
  });

  it('refuses a body that is not a form on a form route, and on any route when there is a body', () => {
    const json = { 'content-type': 'application/json' };
    assert.equal(refusal(request('POST', '/token', json, '{}'), FORM).code, 'invalid_request');
    assert.equal(refusal(request('POST', '/token', json, ''), FORM).code, 'invalid_request');
    assert.equal(refusal(request('POST', '/userinfo', json, '{}'), NOT_FORM).code, 'invalid_request');
    // No body at all, or an empty one of another type where forms are not required: no parameters.
    assert.equal([...toProtocolRequest(plain, request('POST', '/token', {}, ''), FORM).params].length, 0);
    assert.equal([...toProtocolRequest(plain, request('POST', '/userinfo', json, ''), NOT_FORM).params].length, 0);
  });

  it('refuses credentials and tokens in the query string of a POST, except to a page route', () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    for (const name of ['client_secret', 'access_token', 'refresh_token', 'code', 'token']) {
      const r = refusal(request('POST', `/token?${name}=x`, form, 'a=1'), FORM);
      assert.deepEqual(r, { code: 'invalid_request', description: `${name} must not be sent in the query string.` });
    }
    assert.equal(toProtocolRequest(plain, request('POST', '/token?other=x', form, 'a=1'), FORM).params.get('a'), '1');
    assert.equal(toProtocolRequest(plain, request('POST', '/device?code=x', form, 'a=1'), PAGE).params.get('a'), '1');
  });

  it('reads only __Host- cookies when cookies are Secure', () => {
    const headers = { cookie: '__Host-session=abc; other=def' };
    const secure = { ...plain, secure: true };
    assert.deepEqual(toProtocolRequest(secure, request('GET', '/', headers), PAGE).cookies, { session: 'abc' });
    assert.deepEqual(toProtocolRequest(plain, request('GET', '/', headers), PAGE).cookies, { other: 'def' });
  });

  it('carries the client certificate the reader finds', () => {
    const cert = {} as X509Certificate;
    const withCert: RequestMapping = { secure: false, clientCertificate: () => cert };
    assert.equal(toProtocolRequest(withCert, request('GET', '/userinfo'), NOT_FORM).clientCertificate, cert);
  });

  it("parses a JSON route's POST or PUT body into json, and refuses query strings, other types and bad JSON", () => {
    const json = { 'content-type': 'application/json; charset=utf-8' };
    const post = toProtocolRequest(plain, request('POST', '/register', json, '{"a":1}'), JSON_ROUTE);
    assert.deepEqual(post.json, { a: 1 });
    const put = toProtocolRequest(plain, request('PUT', '/register/c', json, '{"b":2}'), JSON_ROUTE);
    assert.deepEqual(put.json, { b: 2 });
    const get = toProtocolRequest(plain, request('GET', '/register/c', { cookie: 'a=b' }), JSON_ROUTE);
    assert.equal(get.json, undefined);
    assert.deepEqual(get.cookies, {});
    assert.equal(refusal(request('GET', '/register/c?x=1'), JSON_ROUTE).code, 'invalid_request');
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    assert.equal(refusal(request('POST', '/register', form, 'a=1'), JSON_ROUTE).code, 'invalid_request');
    assert.equal(refusal(request('POST', '/register', json, '{'), JSON_ROUTE).code, 'invalid_client_metadata');
  });
});

describe('client address of a raw request', () => {
  const raw = (remoteAddress: string, forwarded?: string) =>
    ({
      socket: { remoteAddress },
      headers: forwarded ? { 'x-forwarded-for': forwarded } : {},
      connection: { remoteAddress },
    }) as unknown as IncomingMessage;

  it('is the peer without trusted proxies, whatever X-Forwarded-For says', () => {
    assert.equal(clientIpReader([])(raw('192.0.2.1', '198.51.100.7')), '192.0.2.1');
  });

  it('is the nearest address not of a trusted proxy', () => {
    const read = clientIpReader(['127.0.0.1']);
    assert.equal(read(raw('127.0.0.1', '203.0.113.9, 198.51.100.7')), '198.51.100.7');
    assert.equal(read(raw('192.0.2.1', '198.51.100.7')), '192.0.2.1');
  });
});
