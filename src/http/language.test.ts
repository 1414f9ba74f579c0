import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { mountLanguageSwitch, requestLanguage } from './language.ts';

const cookieOpts = { secure: false, sessionSameSite: 'lax' as const };

/** A server with one page route and one JSON route, answering with what requestLanguage makes of the request. */
async function server(secure = false) {
  const app = Fastify();
  mountLanguageSwitch(app, { ...cookieOpts, secure });
  const answer = (req: Parameters<typeof requestLanguage>[0], known?: { uiLocales?: string; userLocale?: string }) => {
    const l = requestLanguage(req, 'fr', secure);
    return { locale: l.localeFor(known), links: l.links(undefined) };
  };
  app.get('/page', { config: { kind: 'page' } }, async (req) => answer(req));
  app.post('/page', { config: { kind: 'page' } }, async (req) => answer(req));
  app.get('/signin', { config: { kind: 'page' } }, async (req) => answer(req, { uiLocales: 'de', userLocale: 'en' }));
  app.get('/json', { config: { kind: 'json' } }, async () => ({ ok: true }));
  await app.ready();
  return app;
}

describe('a page language (http/language.ts)', () => {
  it('falls back to TESSERA_DEFAULT_LOCALE, else follows Accept-Language', async () => {
    const app = await server();
    assert.equal((await app.inject('/page')).json().locale, 'fr');
    const r = await app.inject({ url: '/page', headers: { 'accept-language': 'es, de-CH;q=0.8, en;q=0.5' } });
    assert.equal(r.json().locale, 'de');
  });

  it("puts the cookie of the language links first, then ui_locales, then the user's choice", async () => {
    const app = await server();
    assert.equal((await app.inject('/signin')).json().locale, 'de');
    const picked = await app.inject({ url: '/signin', headers: { cookie: 'tessera_lang=en' } });
    assert.equal(picked.json().locale, 'en');
    const nonsense = await app.inject({ url: '/signin', headers: { cookie: 'tessera_lang=xx' } });
    assert.equal(nonsense.json().locale, 'de');
  });

  it('reads only the __Host- cookie when cookies are Secure', async () => {
    const app = await server(true);
    assert.equal((await app.inject({ url: '/page', headers: { cookie: 'tessera_lang=de' } })).json().locale, 'fr');
    const host = await app.inject({ url: '/page', headers: { cookie: '__Host-tessera_lang=de' } });
    assert.equal(host.json().locale, 'de');
  });

  it('links a GET page to itself in each language, keeping its query; a POST page has no links', async () => {
    const app = await server();
    const plain = (await app.inject('/page?a=1')).json().links;
    assert.deepEqual(plain, [
      { locale: 'en', href: '/page?a=1&lang=en' },
      { locale: 'de', href: '/page?a=1&lang=de' },
      { locale: 'fr', href: '/page?a=1&lang=fr' },
    ]);
    assert.deepEqual((await app.inject({ method: 'POST', url: '/page' })).json().links, []);
  });

  it('?lang= on a page keeps the choice and shows the same page again without the parameter', async () => {
    const app = await server();
    const r = await app.inject('/page?a=1&lang=de&b=2');
    assert.equal(r.statusCode, 303);
    assert.equal(r.headers.location, '/page?a=1&b=2');
    assert.match(
      String(r.headers['set-cookie']),
      /^tessera_lang=de; Path=\/; Max-Age=31536000; HttpOnly; SameSite=Lax$/,
    );
    const secure = await server(true);
    const s = await secure.inject('/page?lang=fr');
    assert.match(String(s.headers['set-cookie']), /^__Host-tessera_lang=fr; .*; Secure$/);
  });

  it('ignores ?lang= that names no language of ours, on other routes, and on POST', async () => {
    const app = await server();
    assert.equal((await app.inject('/page?lang=xx')).statusCode, 200);
    assert.equal((await app.inject('/page?lang=%3Cscript%3E')).statusCode, 200);
    assert.equal((await app.inject('/json?lang=de')).statusCode, 200);
    const post = await app.inject({ method: 'POST', url: '/page?lang=de' });
    assert.equal(post.statusCode, 200);
    assert.equal(post.headers['set-cookie'], undefined);
  });

  it('never sends the browser to another host, nor links to one', async () => {
    const app = Fastify();
    mountLanguageSwitch(app, cookieOpts);
    // A route whose parameter takes anything, as /interaction/:uid and /admin/:section do.
    app.get('/i/:uid', { config: { kind: 'page' } }, async (req) => ({
      links: requestLanguage(req, 'en', false).links(undefined),
    }));
    await app.ready();
    const tricks = [
      '/i/..\\evil.example',
      '/i/..\\evil.example%2f',
      '/i/%2e%2e/%2e%2e//evil.example',
      '/i/../..//evil.example',
    ];
    for (const path of tricks) {
      const r = await app.inject(`${path}?lang=de`);
      assert.notEqual(r.statusCode, 303, path);
      if (r.statusCode === 200) assert.deepEqual(r.json().links, [], path);
    }
    // An encoded slash stays encoded: the address is the request's own.
    const ok = await app.inject('/i/https%3A%2F%2Fapp.example?lang=de');
    assert.equal(ok.headers.location, '/i/https%3A%2F%2Fapp.example');
  });

  it('offers no links on a page whose address used something up', async () => {
    const app = Fastify();
    app.get('/callback', { config: { kind: 'page' } }, async (req) => ({
      links: requestLanguage(req, 'en', false).links({ once: true }),
    }));
    await app.ready();
    assert.deepEqual((await app.inject('/callback?code=c&state=s')).json().links, []);
  });
});
