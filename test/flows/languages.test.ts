/**
 * The languages as a person sees them (issue 18), in Chromium against the real server: a deployment with
 * its own brand (name, colours, logo, footer links) and a client with a logo. In English, German and
 * French, every page a person meets: the sign-in pages (login, sign-up, consent) in the language the
 * application asked for with ui_locales, whatever the browser says; the account area, device entry, an
 * error, the sign-out question, forgot password and the admin console in the browser's language. Each
 * page says its language in <html lang>, reports no CSP violation and no script or console error, and
 * shows no text left in English or a catalog key (i18n/untranslated.ts), which one test at the end lists
 * page by page. The footer's language links switch the language, and the choice sticks. Screenshots go
 * to a temporary directory (printed), never into the repository.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { Secret, TOTP } from 'otpauth';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { LOCALES, type Locale } from '../../src/i18n/negotiate.ts';
import { describeUntranslated, untranslated } from '../../src/i18n/untranslated.ts';
import { pngTile } from '../fixtures/images.ts';
import { startServer, type RunningServer } from '../fixtures/server.ts';
import {
  authRequest,
  browserSkip,
  captureFullPage,
  launchBrowser,
  rpConfig,
  secretWebClient,
  startCallbackServer,
  submit,
  type CallbackServer,
} from './support.ts';

const TOKEN = 'languages-flow-admin-token-0123456789-abcdefgh';
const SECRET = 'languages-flow-client-secret-0123456789';
const PASSWORD = 'correct horse battery staple';
const OWNER_PASSWORD = 'operators keep long passphrases 4821';
const BRAND_LOGO = pngTile(64, [123, 31, 162], [255, 255, 255]);
const CLIENT_LOGO = pngTile(96, [21, 128, 61], [240, 253, 244]);
const STEP_MS = 30_000;
const BRAND_LINKS = [
  'https://northwind.example/privacy',
  'https://northwind.example/terms',
  'https://northwind.example/help',
];

/** For each language of a sign-in page, a browser that prefers another: the page follows ui_locales. */
const OTHER: Readonly<Record<Locale, Locale>> = { en: 'de', de: 'fr', fr: 'en' };

/** A browser context's cookies, to open another window signed in as the same person. */
type Storage = Awaited<ReturnType<BrowserContext['storageState']>>;

/** What a page shows as text, and what language each piece is marked as being in. */
interface Shown {
  lang: string;
  /** Whether the brand's logo is shown (loaded), and the addresses of the footer's links. */
  logo: boolean;
  footer: string[];
  texts: { text: string; lang: string }[];
}

// The timeout only bounds a hang: about 76 s with two test files at a time, and twice that while this kind of machine
// runs slow.
describe('every page in every language, as a person sees it', { skip: browserSkip, timeout: 300_000 }, () => {
  let server: RunningServer;
  let cb: CallbackServer;
  let browser: Browser;
  let logos: Server;
  let shots: string;
  /** The owner's console session (cookies), made once by the first console test. */
  let owner: Storage | undefined;
  const contexts: BrowserContext[] = [];
  /** Every CSP violation, script error or console error, with the page it happened on. */
  const problems: string[] = [];
  /** Pages whose error status is expected (the error page), by URL. */
  const expectedStatus = new Set<string>();
  /** Every page whose <html lang> is not its language: "<locale> <page>: lang=<lang>". */
  const wrongLang: string[] = [];
  /** Every untranslated text: "<locale> <page>: <text> (<why>)". */
  const findings: string[] = [];
  /** Every page checked, for the last test's message: "<locale> <page>". */
  const checked: string[] = [];

  before(async () => {
    shots = mkdtempSync(join(tmpdir(), 'tessera-languages-'));
    console.log(`languages: screenshots in ${shots}`);
    logos = createServer((req, res) => {
      if (req.url === '/shop-logo.png') res.writeHead(200, { 'content-type': 'image/png' }).end(CLIENT_LOGO);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => logos.listen(0, '127.0.0.1', r));
    const logoOrigin = `http://127.0.0.1:${(logos.address() as AddressInfo).port}`;
    cb = await startCallbackServer();
    [browser, server] = await Promise.all([
      launchBrowser(),
      startServer({
        env: {
          TESSERA_ADMIN_TOKEN: TOKEN,
          TESSERA_SELF_REGISTRATION: 'true',
          TESSERA_PASSWORD_RESET: 'true',
          TESSERA_BRAND_NAME: 'Northwind ID',
          TESSERA_BRAND_PRIVACY_URL: 'https://northwind.example/privacy',
          TESSERA_BRAND_TERMS_URL: 'https://northwind.example/terms',
          TESSERA_BRAND_SUPPORT_URL: 'https://northwind.example/help',
        },
        bootstrap: {
          clients: [
            {
              ...secretWebClient(cb, {
                client_id: 'shop',
                client_name: 'Fabrikam Shop',
                client_secret: SECRET,
                scope: 'openid profile email',
              }),
              logo_uri: `${logoOrigin}/shop-logo.png`,
              client_uri: 'https://shop.fabrikam.example/',
              policy_uri: 'https://shop.fabrikam.example/privacy',
              tos_uri: 'https://shop.fabrikam.example/terms',
            },
          ],
          users: [
            ...LOCALES.map((l) => ({
              username: `reader-${l}`,
              password: PASSWORD,
              email: `reader-${l}@example.com`,
              email_verified: true,
              name: `Reader ${l.toUpperCase()}`,
            })),
            {
              username: 'olga',
              password: OWNER_PASSWORD,
              email: 'olga@example.org',
              email_verified: true,
              admin_role: 'owner',
            },
          ],
        },
      }),
    ]);
    // The brand's colours and logo, set as operators set them (the admin API; the console's form takes the same).
    const res = await fetch(`${server.issuer}/admin/api/v1/settings/branding`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        logo: BRAND_LOGO.toString('base64'),
        primary_color: '#7b1fa2',
        primary_text_color: '#ffffff',
      }),
    });
    assert.equal(res.status, 200, await res.text());
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await server?.stop();
    await cb?.close();
    logos?.closeAllConnections();
    await new Promise<void>((r) => (logos ? logos.close(() => r()) : r()));
  });

  const url = (path: string) => `${server.issuer}${path}`;

  /**
   * A browser window whose requests prefer `accept` (Accept-Language), reporting every CSP violation,
   * uncaught script error and console error into `problems`.
   */
  async function browserWindow(
    accept: Locale,
    storageState?: Storage,
  ): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({
      extraHTTPHeaders: { 'accept-language': accept },
      ...(storageState ? { storageState } : {}),
    });
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    const page = await context.newPage();
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) =>
        console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI}`),
      );
    });
    page.on('console', (m) => {
      if (m.type() !== 'error' && !/Content Security Policy|Refused to/i.test(m.text())) return;
      // The error page's own status (400) is what it means to say, not a fault of the page; the browser's
      // own request for /favicon.ico is none of the page's doing; the relying party's page is not Tessera's.
      const resource = m.location().url;
      if (/^Failed to load resource/.test(m.text()) && resource === page.url() && expectedStatus.has(page.url()))
        return;
      if (/^Failed to load resource/.test(m.text()) && new URL(resource || page.url()).pathname === '/favicon.ico')
        return;
      if (!page.url().startsWith(server.issuer)) return;
      problems.push(`${page.url()}: console ${m.type()}: ${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => problems.push(`${page.url()}: page error: ${e.message}`));
    return { context, page };
  }

  /** The texts a person sees or hears: text nodes, the window's title, labels of images, fields and buttons. */
  const shown = (page: Page): Promise<Shown> =>
    page.evaluate(() => {
      const langOf = (el: Element | null) => el?.closest('[lang]')?.getAttribute('lang') ?? '';
      const texts: { text: string; lang: string }[] = [
        { text: document.title, lang: langOf(document.documentElement) },
      ];
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const parent = n.parentElement;
        if (!parent || parent.closest('script, style, noscript, template')) continue;
        if (n.textContent?.trim()) texts.push({ text: n.textContent, lang: langOf(parent) });
      }
      // Lines as the browser lays them out: a sentence made of several elements reads as one.
      for (const line of document.body.innerText.split('\n'))
        if (line.trim()) texts.push({ text: line, lang: langOf(document.body) });
      for (const el of document.body.querySelectorAll('[aria-label], [alt], [placeholder], [title]'))
        for (const name of ['aria-label', 'alt', 'placeholder', 'title']) {
          const value = el.getAttribute(name);
          if (value?.trim()) texts.push({ text: value, lang: langOf(el) });
        }
      for (const el of document.body.querySelectorAll('input[type="submit"], input[type="button"]'))
        texts.push({ text: (el as HTMLInputElement).value, lang: langOf(el) });
      const logo = document.querySelector('img.brand-logo') as HTMLImageElement | null;
      return {
        lang: document.documentElement.lang,
        logo: Boolean(logo?.complete && logo.naturalWidth > 0),
        footer: [...document.querySelectorAll('footer a[href^="https:"]')].map((a) => (a as HTMLAnchorElement).href),
        texts,
      };
    });

  /**
   * Checks the page the browser shows as `name` in `locale`: a screenshot, its <html lang> and its texts
   * (both kept for the tests at the end, which list every page), the brand's logo and footer links.
   */
  async function check(page: Page, locale: Locale, name: string): Promise<void> {
    const where = `${locale} ${name} (${new URL(page.url()).pathname})`;
    checked.push(where);
    // JPEG: a PNG of a long page takes several times longer to encode, and the suite keeps to its time.
    await captureFullPage(page, {
      path: join(shots, `${locale}-${name}.jpg`),
      type: 'jpeg',
      quality: 60,
      scale: 'css',
    });
    const s = await shown(page);
    if (s.lang !== locale) wrongLang.push(`${where}: <html lang="${s.lang}">`);
    // The brand in every language: its logo, and its footer links.
    assert.ok(s.logo, `${where}: the brand's logo`);
    assert.deepEqual(s.footer, BRAND_LINKS, `${where}: the brand's footer links`);
    // A text marked as in another language than the page's (the footer's "Deutsch", lang="de") is not the
    // page's to translate; the page's own texts must be in `locale` (a wrong <html lang> is reported apart).
    const mine = s.texts.filter((x) => x.lang === '' || x.lang === s.lang).map((x) => x.text);
    for (const line of describeUntranslated(untranslated(locale, mine)).split('\n').filter(Boolean))
      findings.push(`${where}: ${line}`);
  }

  const go = async (page: Page, path: string) => {
    const res = await page.goto(url(path));
    assert.ok(res, path);
  };

  /** Signs in on the login page the browser shows, by the fields' names (the labels are in any language). */
  async function signIn(page: Page, username: string, password: string): Promise<void> {
    const form = page.locator('form:has(input[name="password"])');
    await form.locator('input[name="username"]').fill(username);
    await form.locator('input[name="password"]').fill(password);
    await submit(page, () => form.locator('button[type="submit"]').click());
  }

  // A code is accepted once per account: each use takes a later time step than the last.
  let lastStep = 0;
  async function totpCode(secret: string): Promise<string> {
    for (;;) {
      const current = Math.floor(Date.now() / STEP_MS);
      const step = Math.max(lastStep + 1, current);
      if (step <= current + 1) {
        lastStep = step;
        return new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate({
          timestamp: step * STEP_MS,
        });
      }
      await new Promise((r) => setTimeout(r, (current + 1) * STEP_MS - Date.now() + 50));
    }
  }

  /** The owner adds an authenticator app and signs in to the console with it (in English: a setup, not a check). */
  async function ownerAtTheConsole(): Promise<BrowserContext> {
    const { context, page } = await browserWindow('en');
    await go(page, '/account');
    await signIn(page, 'olga', OWNER_PASSWORD);
    await go(page, '/account/security/totp');
    const secret = ((await page.locator('code.secret').textContent()) ?? '').replace(/\s/g, '');
    assert.ok(secret, 'the enrolment page shows the key');
    const form = page.locator('form:has(input[name="code"])');
    await form.locator('input[name="code"]').fill(await totpCode(secret));
    await submit(page, () => form.locator('button[type="submit"]').click());
    // Signed in again, with the password and a code: a console session.
    await context.clearCookies();
    await go(page, '/admin');
    await signIn(page, 'olga', OWNER_PASSWORD);
    const second = page.locator('form:has(input[name="code"])');
    await second.locator('input[name="code"]').fill(await totpCode(secret));
    await submit(page, () => second.locator('button[type="submit"]').click());
    assert.equal(new URL(page.url()).pathname, '/admin', page.url());
    return context;
  }

  for (const locale of LOCALES) {
    it(`${locale}: login, sign-up and consent follow ui_locales (the browser prefers ${OTHER[locale]})`, async () => {
      const { page } = await browserWindow(OTHER[locale]);
      const config = await rpConfig(server.issuer, 'shop', client.ClientSecretBasic(SECRET));
      const signup = await authRequest(config, {
        redirect_uri: cb.url('/callback'),
        scope: 'openid profile email',
        prompt: 'create',
        ui_locales: `${locale} ${OTHER[locale]}`,
      });
      await page.goto(signup.url.href);
      assert.equal(await page.locator('input[name="email"]').count(), 1, 'the sign-up form');
      await check(page, locale, 'signup');

      const req = await authRequest(config, {
        redirect_uri: cb.url('/callback'),
        scope: 'openid profile email',
        ui_locales: locale,
      });
      await page.goto(req.url.href);
      assert.equal(await page.locator('input[name="password"]').count(), 1, 'the login form');
      assert.equal(
        await page
          .locator('form button[type="submit"]')
          .first()
          .evaluate((b) => getComputedStyle(b).backgroundColor),
        'rgb(123, 31, 162)',
        "the brand's colour",
      );
      await check(page, locale, 'login');
      await signIn(page, `reader-${locale}`, PASSWORD);
      assert.equal(await page.locator('button[name="decision"][value="allow"]').count(), 1, 'the consent page');
      assert.equal(await page.locator('img.client-logo').count(), 1, "the client's logo");
      await check(page, locale, 'consent');
      await submit(page, () => page.locator('button[name="decision"][value="allow"]').click());
      assert.ok(new URL((await cb.next('/callback')).url).searchParams.get('code'), 'the client got a code');
    });

    it(`${locale}: the account area, device entry, an error, signing out and forgot password in the browser's language`, async () => {
      const { page } = await browserWindow(locale);
      await go(page, '/forgot-password');
      await check(page, locale, 'forgot-password');
      await go(page, '/device');
      assert.equal(await page.locator('input[name="user_code"]').count(), 1, 'the device entry form');
      await check(page, locale, 'device');
      // An authorization request for a client that does not exist: the error is shown, not redirected.
      const error = url('/authorize?client_id=no-such-client&response_type=code&scope=openid');
      expectedStatus.add(error);
      await page.goto(error);
      await check(page, locale, 'error');

      await go(page, '/account');
      await check(page, locale, 'account-login');
      await signIn(page, `reader-${locale}`, PASSWORD);
      assert.equal(new URL(page.url()).pathname, '/account');
      await check(page, locale, 'account-overview');
      for (const [path, name] of [
        ['/account/profile', 'account-profile'],
        ['/account/security', 'account-security'],
        ['/account/security/passkeys', 'account-passkeys'],
        ['/account/sessions', 'account-sessions'],
        ['/account/activity', 'account-activity'],
        ['/account/data', 'account-data'],
      ] as const) {
        await go(page, path);
        assert.equal(new URL(page.url()).pathname, path, `${path} is shown, not another page`);
        await check(page, locale, name);
      }
      await go(page, '/logout');
      assert.equal((await page.locator('form[action*="logout"]').count()) > 0, true, 'the sign-out question');
      await check(page, locale, 'logout-confirm');
    });

    it(`${locale}: the admin console's dashboard, a list and a form in the browser's language`, async () => {
      owner ??= await (await ownerAtTheConsole()).storageState();
      const { page } = await browserWindow(locale, owner);
      for (const [path, name] of [
        ['/admin', 'console-dashboard'],
        ['/admin/clients', 'console-clients'],
        ['/admin/do/users.create', 'console-user-form'],
      ] as const) {
        await go(page, path);
        assert.equal(new URL(page.url()).pathname, path, `${path} is shown, not another page`);
        await check(page, locale, name);
      }
    });
  }

  it("the footer's language link switches the language, and the choice sticks on the next page", async () => {
    const { page } = await browserWindow('en');
    await go(page, '/account');
    await signIn(page, 'reader-en', PASSWORD);
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    for (const target of ['de', 'fr', 'en'] as const) {
      const link = page.locator(`footer nav.languages a[hreflang="${target}"]`);
      await submit(page, () => link.click());
      assert.equal(new URL(page.url()).pathname, '/account', 'the same page again');
      assert.equal(new URL(page.url()).search, '', 'without the parameter');
      assert.equal(await page.evaluate(() => document.documentElement.lang), target);
      await go(page, '/account/profile');
      assert.equal(await page.evaluate(() => document.documentElement.lang), target, 'the next page too');
      // The browser still prefers English: the pick wins over Accept-Language.
      await go(page, '/account');
    }
  });

  it('every page says its language in <html lang>', () => {
    assert.ok(wrongLang.length === 0, `${wrongLang.length} pages in another language:\n${wrongLang.join('\n')}`);
  });

  it('no page reported a CSP violation, a script error or a console error', () => {
    assert.ok(problems.length === 0, `${problems.length} problems:\n${problems.join('\n')}`);
  });

  it('no page shows a text left in English or a catalog key', () => {
    assert.ok(checked.length >= LOCALES.length * 18, `pages checked: ${checked.length}\n${checked.join('\n')}`);
    assert.ok(findings.length === 0, `${findings.length} untranslated texts:\n${findings.join('\n')}`);
  });
});
