import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { audiences, canonicalUrl, challengeParams, jwtPayload, Report, wellKnown } from './checks.ts';

describe('challengeParams (WWW-Authenticate)', () => {
  it('reads quoted and token parameters of the named scheme', () => {
    assert.deepEqual(
      challengeParams('Bearer resource_metadata="https://mcp.example/.well-known/x", error=invalid_token', 'Bearer'),
      { resource_metadata: 'https://mcp.example/.well-known/x', error: 'invalid_token' },
    );
    assert.deepEqual(challengeParams('bearer', 'Bearer'), {});
    assert.deepEqual(challengeParams('Bearer scope="a \\"b\\""', 'Bearer'), { scope: 'a "b"' });
  });

  it('finds the scheme among several challenges and stops at the next one', () => {
    const header = 'DPoP algs="ES256", Bearer realm="r", resource_metadata="https://m/x", Basic realm="b"';
    assert.deepEqual(challengeParams(header, 'Bearer'), { realm: 'r', resource_metadata: 'https://m/x' });
    assert.deepEqual(challengeParams(header, 'DPoP'), { algs: 'ES256' });
  });

  it('is undefined without the scheme (a scheme name inside another is not it)', () => {
    assert.equal(challengeParams(null, 'Bearer'), undefined);
    assert.equal(challengeParams('Basic realm="x"', 'Bearer'), undefined);
    assert.equal(challengeParams('NotBearer x="1"', 'Bearer'), undefined);
  });
});

describe('URLs', () => {
  it('canonicalUrl lowercases scheme and host, drops the fragment and a lone slash, refuses other schemes', () => {
    assert.equal(canonicalUrl('HTTPS://MCP.Example.com/'), 'https://mcp.example.com');
    assert.equal(canonicalUrl('https://mcp.example.com/mcp#x'), 'https://mcp.example.com/mcp');
    assert.equal(canonicalUrl('https://mcp.example.com/mcp/'), 'https://mcp.example.com/mcp/');
    assert.equal(canonicalUrl('ftp://x.example'), undefined);
    assert.equal(canonicalUrl('not a url'), undefined);
  });

  it('wellKnown inserts the well-known segment before the path (RFC 8414 §3.1, RFC 9728 §3.1)', () => {
    assert.equal(
      wellKnown('https://a.example', 'oauth-protected-resource'),
      'https://a.example/.well-known/oauth-protected-resource',
    );
    assert.equal(
      wellKnown('https://a.example/tenant/mcp/', 'oauth-protected-resource'),
      'https://a.example/.well-known/oauth-protected-resource/tenant/mcp',
    );
  });
});

describe('tokens', () => {
  it('reads the audience of a JWT, and nothing from an opaque token', () => {
    const jwt = (payload: object) => `e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;
    assert.deepEqual(audiences(jwtPayload(jwt({ aud: 'https://m' }))!), ['https://m']);
    assert.deepEqual(audiences(jwtPayload(jwt({ aud: ['a', 1, 'b'] }))!), ['a', 'b']);
    assert.equal(jwtPayload('opaque-token'), undefined);
    assert.equal(jwtPayload('a.!!!.c'), undefined);
  });
});

describe('Report', () => {
  it('exits 1 only when a MUST failed; SHOULD failures and skips do not count', () => {
    const r = new Report();
    r.check('a', 'MUST', 's', true, 'ok');
    r.skip('b', 'MUST', 's', 'not here');
    r.check('c', 'SHOULD', 's', false, 'meh');
    assert.equal(r.exitCode(), 0);
    assert.match(r.summary(), /every MUST passed: MUST 1 pass, 0 fail, 1 skip; SHOULD 0 pass, 1 fail, 0 skip/);
    r.check('d', 'MUST', 's', false, 'bad');
    assert.equal(r.exitCode(), 1);
  });

  it('keeps reasons on one short line', () => {
    const r = new Report();
    const row = r.add('x', 'MUST', 's', 'fail', `line\none ${'y'.repeat(1000)}`);
    assert.ok(!row.reason.includes('\n'));
    assert.equal(row.reason.length, 400);
  });

  it('keeps warnings apart from the rows, one short line each; they do not change the exit code', () => {
    const r = new Report();
    r.check('a', 'MUST', 's', true, 'ok');
    r.warn(`the canary token was not revoked\n(HTTP 503) ${'z'.repeat(1000)}`);
    assert.equal(r.rows.length, 1);
    assert.equal(r.warnings.length, 1);
    assert.ok(!r.warnings[0]!.includes('\n'));
    assert.equal(r.warnings[0]!.length, 400);
    assert.match(r.warnings[0]!, /^the canary token was not revoked \(HTTP 503\) z/);
    assert.equal(r.exitCode(), 0);
  });
});
