/**
 * The registry of resource servers for MCP, through inject() on SQLite and PostgreSQL:
 * TESSERA_RESOURCE_REGISTRY_ONLY for operator-made clients at /authorize, /par and /token; another
 * spelling of a registry resource refused whatever the setting; a token for one resource is never
 * taken for another (userinfo refuses it, introspection reports its real aud); the consent page
 * shows a parent scope for its children.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { App } from '../../src/app.ts';
import { saveClient } from '../../src/admin/clients.ts';
import { saveResourceServer } from '../../src/admin/resources.ts';
import { applyBootstrap, readBootstrapFile } from '../../src/admin/bootstrap.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backends, basic, form, ISSUER, Jar, pkce, testApp } from '../fixtures/app.ts';

const MCP = 'https://mcp.example.com/mcp';
const OTHER = 'https://other.example.com/api';
const SECRET = 'registry-only-secret-0123456789-abcdefgh';
const CB = 'https://registry-only.example/cb';
const SCOPES = 'api:read api:write files files:read files:write';

for (const backend of await backends()) {
  describe(`the resource registry for MCP (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    const apps: App[] = [];
    let strict: App;
    let lax: App;
    const open = async (env: Record<string, string>) => {
      const app = await testApp(backend.url!, { TESSERA_EXTRA_SCOPES: SCOPES, ...env });
      apps.push(app);
      return app;
    };
    before(async () => {
      strict = await open({ TESSERA_RESOURCE_REGISTRY_ONLY: 'true' });
      lax = await open({});
      // On SQLite each app has its own database; on PostgreSQL they share one.
      for (const app of [strict, lax]) {
        if (await app.stores.clients.get('op')) continue;
        const now = app.provider.now();
        await saveClient(
          app.stores,
          app.provider.config,
          {
            client_id: 'op',
            client_secret: SECRET,
            redirect_uris: [CB],
            grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
            scope: `openid offline_access ${SCOPES}`,
          },
          now,
        );
        for (const [identifier, scopes] of [
          [
            'HTTPS://MCP.Example.com:443/mcp',
            {
              files: 'All your files',
              'files:read': { description: 'Read your files', parent: 'files' },
              'files:write': { description: 'Change your files', parent: 'files' },
            },
          ],
          [OTHER, { 'api:read': 'Read the API' }],
        ] as const)
          await saveResourceServer(
            app.stores,
            app.provider.config,
            { identifier, display_name: identifier, scopes },
            now,
          );
      }
      // Stored in canonical form.
      assert.ok(await strict.stores.resourceServers.get(MCP));
    });
    after(async () => {
      for (const a of apps) await a.close();
      await backend.drop?.();
    });

    const auth = { authorization: basic('op', SECRET) };
    const base = () => ({
      client_id: 'op',
      redirect_uri: CB,
      response_type: 'code',
      scope: 'openid files',
      state: 's',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    });
    async function refusedEverywhere(app: App, resource: string, description: RegExp) {
      const q = new URLSearchParams({ ...base(), resource });
      const res = await app.server.inject({ url: `/authorize?${q}` });
      assert.equal(res.statusCode, 303, resource);
      const loc = new URL(res.headers.location as string);
      assert.equal(loc.origin + loc.pathname, CB);
      assert.equal(loc.searchParams.get('error'), 'invalid_target', resource);
      assert.match(loc.searchParams.get('error_description')!, description);
      const pushed = await form(app, '/par', { ...base(), resource }, auth);
      assert.equal(pushed.statusCode, 400, resource);
      assert.equal(pushed.json().error, 'invalid_target');
      assert.match(pushed.json().error_description, description);
      const cc = await form(app, '/token', { grant_type: 'client_credentials', scope: 'files', resource }, auth);
      assert.equal(cc.statusCode, 400, resource);
      assert.equal(cc.json().error, 'invalid_target');
      assert.match(cc.json().error_description, description);
    }

    it('TESSERA_RESOURCE_REGISTRY_ONLY: an operator-made client gets invalid_target for any other resource at /authorize, /par and /token', async () => {
      for (const r of ['https://unregistered.example/mcp', `${ISSUER}/`])
        await refusedEverywhere(strict, r, /registered with this server/);
      // Nothing was stored by the refusals: no pushed request, no token.
      const ok = await form(
        strict,
        '/token',
        { grant_type: 'client_credentials', scope: 'files', resource: MCP },
        auth,
      );
      assert.equal(ok.statusCode, 200, ok.body);
      // No resource named: the default audience, as always.
      const plain = await form(strict, '/token', { grant_type: 'client_credentials', scope: 'api:read' }, auth);
      assert.equal(plain.statusCode, 200, plain.body);
    });

    it('without the setting any resource goes, but another spelling of a registry resource is refused, naming it', async () => {
      const ok = await form(
        lax,
        '/token',
        { grant_type: 'client_credentials', scope: 'api:read', resource: 'https://unregistered.example/mcp' },
        auth,
      );
      assert.equal(ok.statusCode, 200, ok.body);
      for (const spelling of ['https://MCP.example.com/mcp', 'https://mcp.example.com:443/mcp', `${MCP}/`])
        for (const app of [lax, strict])
          await refusedEverywhere(app, spelling, /as it is registered: https:\/\/mcp\.example\.com\/mcp\./);
    });

    it('a token for one resource is for that one only: its aud, introspection reports it, userinfo refuses it', async () => {
      const jwks = createLocalJWKSet((await strict.server.inject('/jwks')).json());
      const res = await form(
        strict,
        '/token',
        { grant_type: 'client_credentials', scope: 'files api:read', resource: MCP },
        auth,
      );
      assert.equal(res.statusCode, 200, res.body);
      const token = res.json().access_token as string;
      const { payload } = await jwtVerify(token, jwks, { issuer: ISSUER, typ: 'at+jwt' });
      assert.equal(payload.aud, MCP);
      // The resource's own scopes only (api:read is OTHER's).
      assert.equal(payload.scope, 'files');
      const intro = await form(strict, '/introspect', { token }, auth);
      assert.equal(intro.statusCode, 200, intro.body);
      assert.equal(intro.json().active, true);
      assert.equal(intro.json().aud, MCP);
      const other = await form(
        strict,
        '/token',
        { grant_type: 'client_credentials', scope: 'api:read', resource: OTHER },
        auth,
      );
      const otherIntro = await form(strict, '/introspect', { token: other.json().access_token }, auth);
      assert.equal(otherIntro.json().aud, OTHER);
      for (const t of [token, other.json().access_token]) {
        const ui = await strict.server.inject({ url: '/userinfo', headers: { authorization: `Bearer ${t}` } });
        assert.equal(ui.statusCode, 401, 'a resource token is not a userinfo token');
      }
    });

    it('the consent page shows a parent scope for its children, with the registry description', async () => {
      const jar = new Jar();
      const q = new URLSearchParams({ ...base(), scope: 'openid files files:read', resource: MCP });
      let res = await strict.server.inject({ url: `/authorize?${q}` });
      jar.take(res);
      assert.equal(res.statusCode, 303);
      let loc = new URL(res.headers.location as string);
      let page = await strict.server.inject({ url: loc.pathname, headers: { cookie: jar.header() } });
      const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
      res = await form(
        strict,
        `${loc.pathname}/login`,
        { username: 'alice', password: 'correct horse battery', csrf: csrf! },
        { cookie: jar.header() },
      );
      jar.take(res);
      loc = new URL(res.headers.location as string);
      page = await strict.server.inject({ url: loc.pathname, headers: { cookie: jar.header() } });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /All your files/);
      assert.doesNotMatch(page.body, /Read your files/);
    });

    it('bootstrap resources: the hierarchy and the canonical identifier, idempotent; an entry stored before in another spelling moves', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tessera-boot-res-'));
      const path = join(dir, 'bootstrap.yaml');
      writeFileSync(
        path,
        [
          'resources:',
          '  - identifier: HTTPS://Boot.Example.com/mcp',
          '    display_name: Boot MCP',
          '    scopes:',
          '      files: All your files',
          '      files:read: { description: Read your files, parent: files }',
        ].join('\n'),
      );
      const file = readBootstrapFile(path);
      const now = strict.provider.now();
      assert.equal((await applyBootstrap(strict.stores, strict.provider.config, file, now)).resources, 1);
      assert.equal((await applyBootstrap(strict.stores, strict.provider.config, file, now)).resources, 0, 'idempotent');
      const stored = await strict.stores.resourceServers.get('https://boot.example.com/mcp');
      assert.deepEqual(stored?.scopes, [
        { name: 'files', description: 'All your files' },
        { name: 'files:read', description: 'Read your files', parent: 'files' },
      ]);
      // A row written before identifiers were canonical (straight through the store) moves when saved again.
      const legacy = 'https://Legacy.example.com/mcp';
      await strict.stores.resourceServers.put({ ...stored!, identifier: legacy, displayName: 'Legacy' });
      await saveResourceServer(
        strict.stores,
        strict.provider.config,
        { identifier: legacy, display_name: 'Legacy' },
        now,
      );
      assert.equal(await strict.stores.resourceServers.get(legacy), undefined);
      const moved = await strict.stores.resourceServers.get('https://legacy.example.com/mcp');
      assert.equal(moved?.displayName, 'Legacy');
      assert.equal(moved?.createdAt, stored!.createdAt);
    });
  });
}
