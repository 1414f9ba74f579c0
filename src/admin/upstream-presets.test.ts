// The presets as data: each one complete, and each of its URLs built from the base URLs it is given.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PRESET_NAMES, PRESETS } from './upstream-presets.ts';

const URL_FIELDS = [
  'issuer',
  'discoveryUrl',
  'authorizationEndpoint',
  'tokenEndpoint',
  'userinfoEndpoint',
  'emailsEndpoint',
  'jwksUri',
] as const;

describe('upstream presets', () => {
  it('covers github, google, microsoft, gitlab and apple', () => {
    assert.deepEqual([...PRESET_NAMES].sort(), ['apple', 'github', 'gitlab', 'google', 'microsoft']);
  });

  for (const name of PRESET_NAMES) {
    const preset = PRESETS[name];
    it(`${name}: every URL follows the overridden base URLs, none keeps the default host`, () => {
      const d = preset.defaults({
        baseUrl: 'http://127.0.0.1:4000',
        apiBaseUrl: 'http://127.0.0.1:4001',
        tenant: preset.tenant ?? '',
      });
      const defaults = preset.defaults({
        baseUrl: preset.baseUrl,
        apiBaseUrl: preset.apiBaseUrl ?? '',
        tenant: preset.tenant ?? '',
      });
      for (const field of URL_FIELDS) {
        const v = d[field];
        if (v === undefined) continue;
        assert.ok(v.startsWith('http://127.0.0.1:4000') || v.startsWith('http://127.0.0.1:4001/'), `${field}: ${v}`);
        assert.ok(!v.includes(new URL(preset.baseUrl).host), `${field} does not keep ${preset.baseUrl}`);
        assert.match(defaults[field]!, /^https:\/\//, `${field} defaults to https`);
      }
    });
    it(`${name}: a complete description (label, kind, scopes, claim mapping)`, () => {
      const d = preset.defaults({
        baseUrl: preset.baseUrl,
        apiBaseUrl: preset.apiBaseUrl ?? '',
        tenant: preset.tenant ?? '',
      });
      assert.ok(d.label.length > 0);
      if (d.kind === 'oidc') {
        assert.ok(d.scopes.includes('openid'), 'OpenID Connect asks for openid');
        assert.equal(d.claims.subject, 'sub', 'OpenID Connect identifies by sub');
      } else {
        assert.ok(d.authorizationEndpoint && d.tokenEndpoint && d.userinfoEndpoint, 'OAuth 2.0 has its endpoints');
      }
      for (const v of Object.values(d.claims)) assert.equal(typeof v, 'string');
    });
  }

  it('microsoft: the tenant names give the {tenantid} template, a tenant id its own issuer; never automatic linking', () => {
    const ms = PRESETS.microsoft;
    const at = (tenant: string) => ms.defaults({ baseUrl: 'https://login.example.com', apiBaseUrl: '', tenant });
    for (const t of ['common', 'organizations', 'consumers']) {
      assert.equal(at(t).issuer, 'https://login.example.com/{tenantid}/v2.0');
      assert.equal(at(t).discoveryUrl, `https://login.example.com/${t}/v2.0/.well-known/openid-configuration`);
    }
    const tid = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    assert.equal(at(tid).issuer, `https://login.example.com/${tid}/v2.0`);
    assert.equal(ms.autoLink, false);
    assert.equal(ms.tenant, 'common');
  });

  it('apple answers with form_post; github reads id and login from its profile', () => {
    const apple = PRESETS.apple.defaults({ baseUrl: PRESETS.apple.baseUrl, apiBaseUrl: '', tenant: '' });
    assert.equal(apple.responseMode, 'form_post');
    const gh = PRESETS.github.defaults({
      baseUrl: 'https://github.com',
      apiBaseUrl: 'https://api.github.com',
      tenant: '',
    });
    assert.equal(gh.kind, 'oauth2');
    assert.deepEqual([gh.claims.subject, gh.claims.username], ['id', 'login']);
    assert.equal(gh.emailsEndpoint, 'https://api.github.com/user/emails');
  });
});
