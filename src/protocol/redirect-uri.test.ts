import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchRedirectUri, redirectUriProblem } from './redirect-uri.ts';

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
});
