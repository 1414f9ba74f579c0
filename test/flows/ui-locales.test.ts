/**
 * ui_locales through the real server (issue 18, OpenID Connect Core 3.1.2.1): an authorization
 * request asking for German gets a German login page (<html lang="de">, its words, Content-Language),
 * whatever the browser's Accept-Language says; a malformed ui_locales is ignored, never refused: the
 * sign-in goes on in the browser's language.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../fixtures/server.ts';

const REDIRECT = 'https://app.example/callback';

describe('ui_locales on /authorize', { timeout: 60_000 }, () => {
  let server: RunningServer;

  before(async () => {
    server = await startServer({
      bootstrap: {
        clients: [
          {
            client_id: 'app',
            client_name: 'Example App',
            client_secret: 'ui-locales-client-secret-0123456789',
            redirect_uris: [REDIRECT],
            grant_types: ['authorization_code'],
            scope: 'openid profile',
          },
        ],
        users: [{ username: 'alice', password: 'correct horse battery staple' }],
      },
    });
  });
  after(() => server?.stop());

  /** The login page an authorization request with `uiLocales` leads to, in a browser that prefers `accept`. */
  async function loginPage(uiLocales: string, accept: string): Promise<{ status: number; lang: string; body: string }> {
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL('/authorize', server.issuer);
    for (const [k, v] of Object.entries({
      client_id: 'app',
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: 'openid profile',
      state: 's',
      nonce: 'n',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      ui_locales: uiLocales,
    }))
      url.searchParams.set(k, v);
    const headers = { 'accept-language': accept };
    const first = await fetch(url, { redirect: 'manual', headers });
    assert.ok([302, 303].includes(first.status), String(first.status));
    const location = first.headers.get('location')!;
    assert.ok(location.startsWith(`${server.issuer}/interaction/`), location);
    const cookie = first.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const page = await fetch(location, { redirect: 'manual', headers: { ...headers, cookie } });
    assert.equal(page.headers.get('vary'), 'Accept-Language, Cookie', 'one address, pages in several languages');
    return { status: page.status, lang: page.headers.get('content-language') ?? '', body: await page.text() };
  }

  it('discovery names the languages ui_locales may ask for', async () => {
    const doc = (await (await fetch(new URL('/.well-known/openid-configuration', server.issuer))).json()) as {
      ui_locales_supported?: string[];
    };
    assert.deepEqual(doc.ui_locales_supported, ['en', 'de', 'fr']);
  });

  it('ui_locales=de gives a German login page, over an English Accept-Language', async () => {
    const page = await loginPage('de', 'en-US,en;q=0.9');
    assert.equal(page.status, 200);
    assert.equal(page.lang, 'de');
    assert.match(page.body, /<html lang="de">/);
    assert.match(page.body, /<h1>Anmelden<\/h1>/);
    assert.match(page.body, /um mit <strong>Example App<\/strong> fortzufahren/);
    assert.match(page.body, /<label for="password">Passwort<\/label>/);
  });

  it('the first language of ui_locales Tessera speaks wins: fr after an unknown one', async () => {
    const page = await loginPage('ja fr-CA de', 'de');
    assert.equal(page.lang, 'fr');
    assert.match(page.body, /<h1>Connexion<\/h1>/);
  });

  it('a malformed ui_locales is ignored, not refused: the browser’s language applies', async () => {
    const page = await loginPage('<script> de_DE!! ../../x', 'fr');
    assert.equal(page.status, 200);
    assert.equal(page.lang, 'fr');
    assert.match(page.body, /<html lang="fr">/);
  });
});
