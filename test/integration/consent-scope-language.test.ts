/**
 * The consent page's scope descriptions in the page's language (issue 18), through inject(): a resource
 * server's scope described per language ({ en, de, fr }) shows the German text on a German page and the
 * English one where no translation was given; a standard scope shows the catalog's German words.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { saveClient } from '../../src/admin/clients.ts';
import { saveResourceServer } from '../../src/admin/resources.ts';
import type { App } from '../../src/app.ts';
import { form, Jar, pkce, testApp } from '../fixtures/app.ts';

const MCP = 'https://mcp.example.com/mcp';
const SECRET = 'consent-language-secret-0123456789-abcd';
const CB = 'https://consent-language.example/cb';

describe('consent: scope descriptions in the page language', () => {
  let app: App;
  before(async () => {
    app = await testApp('sqlite::memory:', { TESSERA_EXTRA_SCOPES: 'files:read files:write' });
    const now = app.provider.now();
    await saveClient(
      app.stores,
      app.provider.config,
      {
        client_id: 'op',
        client_secret: SECRET,
        redirect_uris: [CB],
        grant_types: ['authorization_code'],
        scope: 'openid email files:read files:write',
      },
      now,
    );
    await saveResourceServer(
      app.stores,
      app.provider.config,
      {
        identifier: MCP,
        display_name: 'Files',
        scopes: {
          'files:read': { en: 'Read your files', de: 'Ihre Dateien lesen', fr: 'Lire vos fichiers' },
          'files:write': { en: 'Change your files', fr: 'Modifier vos fichiers' },
        },
      },
      now,
    );
  });
  after(async () => {
    await app?.close();
  });

  /** The consent page of a sign-in as alice, asked for in `acceptLanguage`. */
  async function consentPage(acceptLanguage: string): Promise<string> {
    const jar = new Jar();
    const language = { 'accept-language': acceptLanguage };
    const q = new URLSearchParams({
      client_id: 'op',
      redirect_uri: CB,
      response_type: 'code',
      scope: 'openid email files:read files:write',
      resource: MCP,
      state: 's',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    });
    let res = await app.server.inject({ url: `/authorize?${q}`, headers: language });
    jar.take(res);
    assert.equal(res.statusCode, 303);
    let loc = new URL(res.headers.location as string);
    let page = await app.server.inject({ url: loc.pathname, headers: { cookie: jar.header(), ...language } });
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
    res = await form(
      app,
      `${loc.pathname}/login`,
      { username: 'alice', password: 'correct horse battery', csrf: csrf! },
      { cookie: jar.header(), ...language },
    );
    jar.take(res);
    loc = new URL(res.headers.location as string);
    page = await app.server.inject({ url: loc.pathname, headers: { cookie: jar.header(), ...language } });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /files:read/);
    return page.body;
  }

  it("German: the operator's German text, their English where they gave none, the catalog's words", async () => {
    const body = await consentPage('de');
    assert.match(body, /Ihre Dateien lesen/);
    assert.match(body, /Change your files/);
    assert.match(body, /Ihre E-Mail-Adresse/);
    assert.doesNotMatch(body, /Read your files|Your email address/);
  });

  it('French and English pages each show their own texts', async () => {
    const fr = await consentPage('fr-FR');
    assert.match(fr, /Lire vos fichiers/);
    assert.match(fr, /Modifier vos fichiers/);
    assert.match(fr, /Votre adresse e-mail/);
    const en = await consentPage('en');
    assert.match(en, /Read your files/);
    assert.match(en, /Your email address/);
  });
});
