import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { brandUrlProblem, colorProblem, contrastRatio, normalizeColor, textColorFor } from './branding.ts';
import { loadConfig } from './config.ts';

const env = (extra: Record<string, string>) => ({
  TESSERA_ENV: 'development',
  DATABASE_URL: 'sqlite::memory:',
  ...extra,
});

describe('brand colours', () => {
  it('accepts #rgb and #rrggbb only, stored lower-case and long', () => {
    assert.equal(normalizeColor('#0B5'), '#00bb55');
    assert.equal(normalizeColor('#0b5394'), '#0b5394');
    for (const bad of ['red', '0b5394', '#0b539', '#0b53944', 'rgb(0,0,0)', '#000;}', 'var(--x)', '#0b5394 ', 42])
      assert.equal(normalizeColor(bad), undefined, String(bad));
  });
  it('computes WCAG contrast ratios', () => {
    assert.equal(contrastRatio('#ffffff', '#000000').toFixed(2), '21.00');
    assert.equal(contrastRatio('#777777', '#ffffff').toFixed(2), '4.48');
    assert.equal(textColorFor('#0b5394'), '#ffffff');
    assert.equal(textColorFor('#ffd700'), '#000000');
  });
  it('refuses button text or links below 4.5:1', () => {
    const names = { primary: 'p', text: 't' };
    assert.equal(colorProblem('#0b5394', '#ffffff', names), undefined);
    assert.match(colorProblem('#0b5394', '#333333', names)!, /t on p has a contrast of/);
    assert.match(colorProblem('#ffd700', '#000000', names)!, /white background/);
  });
  it('footer links: https, or http on a loopback host', () => {
    assert.equal(brandUrlProblem('u', 'https://acme.example/privacy'), undefined);
    assert.equal(brandUrlProblem('u', 'http://localhost:3000/privacy'), undefined);
    assert.match(brandUrlProblem('u', 'http://acme.example/')!, /https/);
    assert.match(brandUrlProblem('u', 'javascript:alert(1)')!, /https/);
    assert.match(brandUrlProblem('u', 'https://a:b@acme.example/')!, /credentials/);
  });
});

describe('TESSERA_BRAND_* settings', () => {
  it('are checked at start', () => {
    const c = loadConfig(env({ TESSERA_BRAND_NAME: 'Acme ID', TESSERA_BRAND_PRIMARY_COLOR: '#0B5394' }));
    assert.equal(c.brandName, 'Acme ID');
    assert.equal(c.brandPrimaryColor, '#0b5394');
    assert.throws(() => loadConfig(env({ TESSERA_BRAND_PRIMARY_COLOR: 'red' })), /TESSERA_BRAND_PRIMARY_COLOR/);
    assert.throws(() => loadConfig(env({ TESSERA_BRAND_PRIMARY_COLOR: '#ffff00' })), /contrast/);
    assert.throws(
      () => loadConfig(env({ TESSERA_BRAND_TERMS_URL: 'http://acme.example/t' })),
      /TESSERA_BRAND_TERMS_URL/,
    );
    assert.throws(() => loadConfig(env({ TESSERA_BRAND_NAME: 'Acme\u202E' })), /TESSERA_BRAND_NAME/);
  });
});
