/**
 * Remembered consent covers what the user consented to and nothing more (issue: a consent given
 * for one RFC 8707 resource was silently reused for another). On SQLite and PostgreSQL, through
 * inject(): the first request for resource A asks; A again does not; B asks again and names B; a
 * request without a resource after a consent with one is covered by the scopes as before.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import { saveClient } from '../../src/admin/clients.ts';
import { saveResourceServer } from '../../src/admin/resources.ts';
import { authorizeUrl, backends, csrfOf, form, ISSUER, Jar, pkce, testApp } from '../fixtures/app.ts';

const [A, B, C] = ['https://orders.api.example/', 'https://billing.api.example/', 'https://payroll.api.example/'];
const CB = 'https://consent-coverage.example/cb';

for (const backend of await backends()) {
  describe(`remembered consent covers its resources (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    before(async () => {
      app = await testApp(backend.url!);
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'cover',
          client_secret: 'consent-coverage-secret-0123456789abcdef',
          redirect_uris: [CB],
          grant_types: ['authorization_code', 'refresh_token'],
          scope: 'openid api:read api:write',
          allowed_resources: [A, B, C],
        },
        app.provider.now(),
      );
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    const jar = new Jar();
    const params = (resource?: string, scope = 'openid api:read') => ({
      client_id: 'cover',
      redirect_uri: CB,
      response_type: 'code',
      scope,
      state: 's',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
      ...(resource ? { resource } : {}),
    });
    const get = async (url: string) => {
      const r = await app.server.inject({ url, headers: { cookie: jar.header() } });
      jar.take(r);
      return r;
    };

    /**
     * Follows /authorize; signs in when asked; returns the consent page's HTML if one is shown, else undefined (a code
     * came back).
     */
    async function consentShown(resource?: string, scope?: string): Promise<string | undefined> {
      let res = await get(authorizeUrl(params(resource, scope)));
      for (let i = 0; i < 4; i++) {
        assert.equal(res.statusCode, 303, res.body.slice(0, 300));
        const location = new URL(res.headers.location as string);
        if (!location.href.startsWith(`${ISSUER}/interaction/`)) {
          assert.ok(location.searchParams.get('code'), location.href);
          return undefined;
        }
        const page = await get(location.pathname);
        if (!page.body.includes('name="password"')) return page.body;
        res = await form(
          app,
          `${location.pathname}/login`,
          { username: 'alice', password: 'correct horse battery', csrf: csrfOf(page.body) },
          { cookie: jar.header() },
        );
        jar.take(res);
      }
      throw new Error('too many steps');
    }
    async function allow(pageHtml: string) {
      const action = /<form method="post" action="([^"]+)"/.exec(pageHtml)![1]!;
      const res = await form(
        app,
        new URL(action).pathname,
        { decision: 'allow', csrf: csrfOf(pageHtml) },
        { cookie: jar.header() },
      );
      jar.take(res);
      assert.equal(res.statusCode, 303);
      assert.ok(new URL(res.headers.location as string).searchParams.get('code'));
    }

    it('a new resource asks again, and the page names it; what was consented to does not', async () => {
      const first = await consentShown(A);
      assert.ok(first, 'first request for A shows the consent page');
      assert.ok(first.includes('The service at orders.api.example'));
      await allow(first);
      assert.equal(await consentShown(A), undefined, 'A again: remembered');
      const second = await consentShown(B);
      assert.ok(second, 'B was never consented to: the consent page again');
      assert.ok(second.includes('The service at billing.api.example') && second.includes(B));
      assert.ok(!second.includes('orders.api.example'));
      await allow(second);
      assert.equal(await consentShown(B), undefined);
      assert.equal(await consentShown(`${A} ${B}`.split(' ')[0]), undefined);
      // No resource (the default audience) was never consented to either.
      const none = await consentShown();
      assert.ok(none, 'the default audience asks too');
      await allow(none);
      assert.equal(await consentShown(), undefined);
      const stored = await app.stores.consents.listByUser((await app.stores.users.findByUsername('alice'))!.id);
      assert.deepEqual(stored.find((c) => c.clientId === 'cover')!.resources, {
        [A]: ['openid', 'api:read'],
        [B]: ['openid', 'api:read'],
        '': ['openid', 'api:read'],
      });
    });

    it('names a resource of the registry by its display name, and its scopes by their descriptions', async () => {
      await saveResourceServer(
        app.stores,
        app.provider.config,
        {
          identifier: C,
          display_name: 'Payroll records',
          scopes: { 'api:read': 'Read your payslips' },
        },
        app.provider.now(),
      );
      const page = await consentShown(C);
      assert.ok(page, 'C was never consented to');
      assert.ok(page.includes('<span class="resource-name">Payroll records</span>'), page);
      assert.ok(page.includes('Read your payslips'));
      assert.ok(!page.includes('The service at payroll.api.example'));
    });

    it('covers scope and resource together: write consented at B does not cover write at A', async () => {
      const first = await consentShown(B, 'openid api:write');
      assert.ok(first, 'write at B was never consented to');
      await allow(first);
      assert.equal(await consentShown(B, 'openid api:write'), undefined);
      // read was consented at A (previous test) and write at B: write at A asks.
      assert.ok(await consentShown(A, 'openid api:write'), 'write at A asks again');
      assert.equal(await consentShown(A, 'openid api:read'), undefined);
    });
  });
}
