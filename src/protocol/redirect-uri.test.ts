import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchRedirectUri, nativeRedirectUris, redirectUriProblem } from './redirect-uri.ts';

describe('redirect URIs', () => {
  it('registration accepts https, loopback http and native private-use schemes only', () => {
    assert.equal(redirectUriProblem('https://app.example/cb', 'web'), undefined);
    assert.equal(redirectUriProblem('http://localhost:3000/cb', 'web'), undefined);
    assert.equal(redirectUriProblem('com.example.app:/cb', 'native'), undefined);
    for (const [uri, type] of [
      ['http://app.example/cb', 'web'],
      ['https://app.example/cb#x', 'web'],
      ['com.example.app:/cb', 'web'],
      ['myapp:/cb', 'native'],
      ['javascript:alert(1)', 'native'],
      ['https://user:pw@app.example/', 'web'],
      ['/relative', 'web'],
      ['data:text/html,x', 'native'],
    ] as const) {
      assert.ok(redirectUriProblem(uri, type), uri);
    }
  });
  it('matching is exact, except the port of a native loopback URI', () => {
    const web = {
      applicationType: 'web' as const,
      redirectUris: ['https://app.example/cb', 'http://127.0.0.1:8080/cb'],
    };
    assert.ok(matchRedirectUri(web, 'https://app.example/cb'));
    for (const u of [
      'https://app.example/cb/',
      'https://app.example/CB',
      'https://app.example/cb?x',
      'https://app.example:443/cb',
      'http://127.0.0.1:8081/cb',
    ]) {
      assert.ok(!matchRedirectUri(web, u), u);
    }
    const native = {
      applicationType: 'native' as const,
      redirectUris: ['http://127.0.0.1/cb', 'http://[::1]:1000/cb'],
    };
    assert.ok(matchRedirectUri(native, 'http://127.0.0.1:51234/cb'));
    assert.ok(matchRedirectUri(native, 'http://[::1]:2000/cb'));
    assert.ok(!matchRedirectUri(native, 'http://127.0.0.1:51234/other'));
    assert.ok(!matchRedirectUri(native, 'http://localhost:51234/cb'));
    assert.ok(!matchRedirectUri(native, 'https://127.0.0.1:51234/cb'));
  });
  it('a native loopback URI matches on any port, and on nothing else that differs', () => {
    const native = {
      applicationType: 'native' as const,
      redirectUris: ['http://127.0.0.1:8080/cb?x=1', 'http://localhost/done', 'http://[::1]/p'],
    };
    for (const u of ['http://127.0.0.1/cb?x=1', 'http://127.0.0.1:1/cb?x=1', 'http://127.0.0.1:65535/cb?x=1'])
      assert.ok(matchRedirectUri(native, u), u);
    assert.ok(matchRedirectUri(native, 'http://localhost:49152/done'));
    assert.ok(matchRedirectUri(native, 'http://[::1]:3000/p'));
    for (const u of [
      'http://127.0.0.1:0/cb?x=1',
      'http://127.0.0.1:65536/cb?x=1',
      'http://127.0.0.1:/cb?x=1',
      'http://127.0.0.1:9/cb?x=2',
      'http://127.0.0.1:9/cb',
      'http://127.0.0.1:9/cb?x=1#f',
      'http://127.0.0.1:9@evil.example/cb?x=1',
      'http://127.0.0.1:9\\@evil.example/cb?x=1',
      'http://evil.example@127.0.0.1:9/cb?x=1',
      'http://127.0.0.1:9/c\tb?x=1',
      'http://127.0.0.2:9/cb?x=1',
      'HTTP://127.0.0.1:9/cb?x=1',
      'https://127.0.0.1:9/cb?x=1',
      'http://localhost:9/cb?x=1',
      'http://[::1]:9/cb?x=1',
      'http://0x7f000001:9/cb?x=1',
    ])
      assert.ok(!matchRedirectUri(native, u), u);
    // A path that spells the host and port is compared as written, not rewritten.
    const tricky = { applicationType: 'native' as const, redirectUris: ['http://127.0.0.1:8080/x127.0.0.1y'] };
    assert.ok(!matchRedirectUri(tricky, 'http://127.0.0.1/x127.0.0.1:y'));
    assert.ok(matchRedirectUri(tricky, 'http://127.0.0.1:5/x127.0.0.1y'));
  });
  it('native redirect URIs: each loopback http or a private-use scheme', () => {
    assert.ok(nativeRedirectUris(['http://127.0.0.1:33418/callback']));
    assert.ok(nativeRedirectUris(['http://localhost/cb', 'http://[::1]/cb', 'com.example.app:/oauth']));
    assert.ok(!nativeRedirectUris([]));
    assert.ok(!nativeRedirectUris(['http://127.0.0.1/cb', 'https://app.example/cb']));
    assert.ok(!nativeRedirectUris(['https://127.0.0.1/cb']));
    assert.ok(!nativeRedirectUris(['myapp:/cb']));
    assert.ok(!nativeRedirectUris(['http://127.0.0.1/cb#x']));
  });
});
