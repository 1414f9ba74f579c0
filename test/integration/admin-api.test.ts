/**
 * The admin API (/admin/api/v1) through inject(), on SQLite and PostgreSQL: authentication (the
 * break-glass token; a missing or wrong token is 401 with a challenge, never a 500), the actions
 * for clients, resource servers, upstream providers, the audit trail, settings and the dashboard,
 * bad input (400 problem details, nothing changed), 404/409/412, ETag and If-Match, paging, client
 * secret rotation with an overlap at the real /token endpoint, and the audit record of each change
 * (before/after, written with it; a refused change leaves a failure record and nothing else).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import type { App } from '../../src/app.ts';
import { runAction } from '../../src/admin/action.ts';
import { ADMIN_ACTIONS } from '../../src/admin/actions/index.ts';
import { saveClient } from '../../src/admin/clients.ts';
import type { AuditRecord } from '../../src/ports/audit.ts';
import { ROLE_SCOPES } from '../../src/protocol/admin-scopes.ts';
import { backends, basic, form, SECRETS, testApp } from '../fixtures/app.ts';
import { sqliteTempUrl } from '../fixtures/db.ts';

const TOKEN = 'admin-token-0123456789-abcdefghijklmnopqrstuvwxyz';
const BASE = '/admin/api/v1';
const JSON_HEADERS = { 'content-type': 'application/json' };

/** An RFC 9457 problem of this status (and code), never cached; its body. */
function problem(res: LightMyRequestResponse, status: number, code?: string): Record<string, unknown> {
  assert.equal(res.statusCode, status, res.body);
  assert.match(res.headers['content-type'] as string, /^application\/problem\+json/);
  assert.equal(res.headers['cache-control'], 'no-store');
  const body = res.json();
  assert.equal(body.status, status);
  assert.equal(typeof body.detail, 'string');
  if (code) assert.equal(body.code, code, res.body);
  return body;
}

for (const backend of await backends()) {
  describe(`admin API v1 (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    /** Seconds the server's clock is ahead of the wall clock (the overlap of a secret rotation runs out). */
    let ahead = 0;
    /**
     * Sector identifier documents (served on loopback, which TESSERA_CLIENT_JWKS_ALLOW_LOOPBACK allows), and how often
     * each was fetched.
     */
    let sectors: Server;
    let sectorUrl: (path: string) => string;
    const fetched: Record<string, number> = {};
    before(async () => {
      const docs: Record<string, string[]> = {
        '/sector.json': ['https://one.example/cb', 'https://two.example/cb'],
        '/partial.json': ['https://one.example/cb'],
      };
      sectors = createServer((req, res) => {
        fetched[req.url ?? ''] = (fetched[req.url ?? ''] ?? 0) + 1;
        const doc = docs[req.url ?? ''];
        if (doc) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
        else res.writeHead(404).end();
      });
      await new Promise<void>((r) => sectors.listen(0, '127.0.0.1', r));
      sectorUrl = (path) => `http://127.0.0.1:${(sectors.address() as AddressInfo).port}${path}`;
      app = await testApp(
        backend.url!,
        {
          TESSERA_ADMIN_TOKEN: TOKEN,
          TESSERA_SIGNING_ALGS: 'ES256',
          TESSERA_CLIENT_SECRET_OVERLAP: '600',
          TESSERA_CLIENT_JWKS_ALLOW_LOOPBACK: 'true',
        },
        { now: () => Math.floor(Date.now() / 1000) + ahead },
      );
    });
    after(async () => {
      await new Promise((r) => sectors?.close(r));
      await app?.close();
      await backend.drop?.();
    });

    const api = (
      method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
      path: string,
      opts: { body?: unknown; headers?: Record<string, string>; token?: string | null } = {},
    ) =>
      app.server.inject({
        method,
        url: `${BASE}${path}`,
        ...(opts.body !== undefined
          ? { payload: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) }
          : {}),
        headers: {
          ...(opts.token === null ? {} : { authorization: `Bearer ${opts.token ?? TOKEN}` }),
          ...(opts.body !== undefined ? JSON_HEADERS : {}),
          ...opts.headers,
        },
      });
    const ok = async (res: Promise<LightMyRequestResponse>, status = 200) => {
      const r = await res;
      assert.equal(r.statusCode, status, r.body);
      assert.equal(r.headers['cache-control'], 'no-store');
      return r;
    };
    const records = async (type: string): Promise<AuditRecord[]> => {
      await app.audit.flush(); // refusals are written by the batching audit writer
      return app.stores.audit.query({ type });
    };
    const token = (id: string, secret: string) =>
      form(
        app,
        '/token',
        { grant_type: 'client_credentials', scope: 'api:read' },
        { authorization: basic(id, secret) },
      );

    it('authenticates: a missing or wrong token is 401 with a challenge, never a 500, and changes nothing', async () => {
      const missing = await api('GET', '/clients', { token: null });
      problem(missing, 401, 'invalid_token');
      assert.match(missing.headers['www-authenticate'] as string, /^Bearer realm="tessera-admin"/);
      for (const authorization of [
        `Bearer ${TOKEN}x`,
        `Bearer ${TOKEN.slice(0, -1)}`,
        'Bearer ',
        `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`,
        `Bearer ${TOKEN} extra`,
        'Bearer \u00e9\u00e9',
        'DPoP abc',
      ]) {
        for (const [method, path] of [
          ['GET', '/clients'],
          ['POST', '/clients'],
          ['DELETE', '/clients/web'],
          ['POST', '/clients/svc/secret'],
          ['GET', '/audit/export'],
          ['GET', '/settings'],
          ['GET', '/dashboard'],
        ] as const) {
          const res = await app.server.inject({ method, url: `${BASE}${path}`, headers: { authorization } });
          problem(res, 401);
          assert.ok(res.headers['www-authenticate'], `${method} ${path} with ${authorization}: a challenge`);
        }
      }
      assert.ok(await app.stores.clients.get('web'));
      assert.equal((await token('svc', SECRETS.svc!)).statusCode, 200);
    });

    it('refusals before any action runs are problems too: a body over the limit, a bad path, an unknown route', async () => {
      const full = (res: LightMyRequestResponse, status: number, code: string) => {
        const body = problem(res, status, code);
        assert.equal(body.type, 'about:blank');
        assert.equal(typeof body.title, 'string');
        return body;
      };
      const clients = (await app.stores.clients.list()).length;
      const huge = await api('POST', '/clients', { body: { client_name: 'x'.repeat(app.provider.config.bodyLimit) } });
      full(huge, 413, 'payload_too_large');
      assert.equal(huge.headers.connection, 'close');
      assert.equal((await app.stores.clients.list()).length, clients);
      full(await api('GET', '/clients/%E0%A4%A'), 400, 'invalid_request');
      full(await api('GET', `/clients/${'a'.repeat(200)}`), 414, 'invalid_request');
      full(await api('GET', '/no-such-thing'), 404, 'not_found');
      full(await api('GET', '/clients/web/no-such-thing'), 404, 'not_found');
      full(await api('PUT', '/dashboard', { body: {} }), 404, 'not_found');
      full(await api('GET', '/'), 404, 'not_found');
      // Without a token too: an unknown route says so, and no more.
      full(await api('GET', '/no-such-thing', { token: null }), 404, 'not_found');
      // Outside the admin API, the answers are as they were.
      const elsewhere = await app.server.inject({ url: '/no-such-thing' });
      assert.equal(elsewhere.statusCode, 404);
      assert.equal(elsewhere.json().error, 'invalid_request');
      const badPath = await app.server.inject({ url: '/account/%E0%A4%A' });
      assert.equal(badPath.statusCode, 400);
      assert.equal(badPath.json().code, 'FST_ERR_BAD_URL');
    });

    it('clients: create shows a generated secret once; read gives an ETag; the audit record keeps no secret', async () => {
      const created = await ok(
        api('POST', '/clients', {
          body: { client_id: 'made', client_name: 'Made', grant_types: ['client_credentials'], scope: 'api:read' },
        }),
        201,
      );
      const secret = created.json().client_secret as string;
      assert.ok(secret.length >= 43);
      assert.equal(created.json().client_id, 'made');
      assert.equal((await token('made', secret)).statusCode, 200);
      const read = await ok(api('GET', '/clients/made'));
      assert.equal(read.json().client_secret, undefined);
      assert.ok(!read.body.includes(secret));
      assert.match(read.headers.etag as string, /^"[\w-]+"$/);
      assert.equal(read.headers.etag, created.headers.etag);
      const [rec] = await records('client_created');
      assert.equal(rec!.actor, 'admin');
      assert.equal(rec!.clientId, 'made');
      assert.equal(rec!.outcome, 'success');
      assert.equal(rec!.details.principal, 'break-glass');
      assert.match(String(rec!.details.after), /"client_id":"made"/);
      assert.ok(!JSON.stringify(rec).includes(secret));
      // Without a client_id one is made.
      const anon = await ok(api('POST', '/clients', { body: { grant_types: ['client_credentials'], scope: '' } }), 201);
      assert.match(anon.json().client_id, /^[\w-]{16,}$/);
      // Exists already: 409; nothing changed.
      problem(await api('POST', '/clients', { body: { client_id: 'made', client_name: 'Other' } }), 409, 'conflict');
      assert.equal((await app.stores.clients.get('made'))!.clientName, 'Made');
    });

    it('clients: bad input is 400 problem details and changes nothing, with a failure record', async () => {
      const before = await app.stores.clients.get('web');
      // Refusals repeated from one source are folded by the audit writer: one record, then a count (details.repeated).
      const count = (rs: AuditRecord[]) =>
        rs.filter((r) => r.outcome === 'failure').reduce((n, r) => n + Number(r.details.repeated ?? 1), 0);
      const failuresBefore = count(await records('client_updated'));
      for (const [body, field] of [
        [{ redirect_uris: ['not a url'] }, undefined],
        [{ redirect_uris: 'https://x.example/cb' }, 'redirect_uris'],
        [{ unknown_field: 1 }, 'unknown_field'],
        [{ token_endpoint_auth_method: 'magic' }, 'token_endpoint_auth_method'],
        [{ client_name: 'x'.repeat(300) }, 'client_name'],
        [{ grant_types: ['password'] }, undefined],
        [{ client_secret: '' }, undefined],
      ] as const) {
        const res = await api('PATCH', '/clients/web', { body });
        const p = problem(res, 400);
        if (field) assert.ok(JSON.stringify(p.errors ?? p.detail).includes(field), res.body);
      }
      for (const [payload, status] of [
        ['{not json', 400],
        ['[1]', 400],
        ['"x"', 400],
      ] as const)
        problem(await api('PATCH', '/clients/web', { body: payload }), status);
      problem(
        await api('PATCH', '/clients/web', {
          body: 'a=b',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }),
        415,
      );
      assert.deepEqual(await app.stores.clients.get('web'), before);
      const all = await records('client_updated');
      // The rules of buildClient refused inside the action: recorded as failures (schema refusals are not actions run).
      assert.ok(count(all) >= failuresBefore + 3, `${count(all)} failures recorded`);
      assert.ok(all.filter((r) => r.outcome === 'failure').length < count(all), 'repeats folded into a count');
      assert.ok(all.filter((r) => r.outcome === 'failure').every((r) => r.details.after === undefined));
    });

    it('clients: PATCH merges over the stored client, with If-Match (412 on another version) and before/after in the audit', async () => {
      const read = await ok(api('GET', '/clients/web'));
      const etag = read.headers.etag as string;
      problem(
        await api('PATCH', '/clients/web', { body: { client_name: 'Stale' }, headers: { 'if-match': '"nope"' } }),
        412,
        'precondition_failed',
      );
      assert.equal((await app.stores.clients.get('web'))!.clientName, 'Web App');
      const res = await ok(
        api('PATCH', '/clients/web', { body: { client_name: 'Web App 2' }, headers: { 'if-match': etag } }),
      );
      assert.equal(res.json().client_name, 'Web App 2');
      assert.deepEqual(res.json().redirect_uris, ['https://app.example/cb']); // left as stored
      assert.notEqual(res.headers.etag, etag);
      // The old ETag names a version that is gone.
      problem(
        await api('PATCH', '/clients/web', { body: { client_name: 'Again' }, headers: { 'if-match': etag } }),
        412,
      );
      const rec = (await records('client_updated')).filter((r) => r.outcome === 'success').at(-1)!;
      assert.match(String(rec.details.before), /"client_name":"Web App"/);
      assert.match(String(rec.details.after), /"client_name":"Web App 2"/);
      assert.equal(rec.clientId, 'web');
      // null removes a setting that may be unset.
      await ok(api('PATCH', '/clients/web', { body: { mfa: 'required' } }));
      assert.equal((await app.stores.clients.get('web'))!.metadata.mfa, 'required');
      await ok(api('PATCH', '/clients/web', { body: { mfa: null } }));
      assert.equal((await app.stores.clients.get('web'))!.metadata.mfa, undefined);
      problem(await api('PATCH', '/clients/nobody', { body: { client_name: 'x' } }), 404, 'not_found');
      // A Client ID Metadata Document client is never stored, nor fetched by these actions.
      const cimd = encodeURIComponent('https://app.example.com/client.json');
      problem(await api('GET', `/clients/${cimd}`), 404);
      problem(await api('PATCH', `/clients/${cimd}`, { body: { client_name: 'x' } }), 404);
      await ok(api('POST', `/clients/${cimd}/revoke-tokens`));
    });

    it('clients: a sector_identifier_uri document is fetched (before the transaction) and must list every redirect URI', async () => {
      const body = {
        client_id: 'pairwise',
        redirect_uris: ['https://one.example/cb', 'https://two.example/cb'],
        subject_type: 'pairwise',
        sector_identifier_uri: sectorUrl('/partial.json'),
      };
      problem(await api('POST', '/clients', { body }), 400);
      assert.equal(await app.stores.clients.get('pairwise'), undefined);
      assert.equal(fetched['/partial.json'], 1);
      await ok(api('POST', '/clients', { body: { ...body, sector_identifier_uri: sectorUrl('/sector.json') } }), 201);
      assert.equal(fetched['/sector.json'], 1);
      // Redirect URIs the document does not list: refused, nothing changed.
      const more = ['https://one.example/cb', 'https://three.example/cb'];
      problem(await api('PATCH', '/clients/pairwise', { body: { redirect_uris: more } }), 400);
      assert.deepEqual((await app.stores.clients.get('pairwise'))!.redirectUris, body.redirect_uris);
      assert.equal(fetched['/sector.json'], 2);
      // A change that touches neither is not fetched for.
      await ok(api('PATCH', '/clients/pairwise', { body: { client_name: 'Pairwise' } }));
      assert.equal(fetched['/sector.json'], 2);
    });

    it('keys: list, rotate and retire through the same API', async () => {
      const listed = (await ok(api('GET', '/keys'))).json().keys as { kid: string; state: string }[];
      assert.equal(listed.filter((k) => k.state === 'active').length, 1);
      const rotated = await ok(api('POST', '/keys/rotate', { body: { alg: 'ES256' } }));
      assert.equal(rotated.json().previous, listed.find((k) => k.state === 'active')!.kid);
      problem(await api('POST', '/keys/rotate', { body: { alg: 'HS256' } }), 400, 'invalid_input');
      problem(await api('POST', '/keys/no-such-kid/retire'), 404);
      const retired = await ok(api('POST', `/keys/${rotated.json().previous}/retire`));
      assert.equal(retired.json().state, 'retired');
      assert.equal((await records('key_rotated')).at(-1)!.details.trigger, 'manual');
    });

    it('clients: list pages by client_id with a cursor and searches', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const res = await ok(api('GET', `/clients?limit=2${cursor ? `&cursor=${cursor}` : ''}`));
        const page = res.json() as { items: { client_id: string }[]; next_cursor?: string };
        assert.ok(page.items.length <= 2);
        seen.push(...page.items.map((c) => c.client_id));
        cursor = page.next_cursor;
      } while (cursor);
      const all = (await app.stores.clients.list()).map((c) => c.clientId).sort();
      assert.deepEqual(seen, all);
      const found = (await ok(api('GET', '/clients?search=WEB')))
        .json()
        .items.map((c: { client_id: string }) => c.client_id);
      assert.deepEqual(found.sort(), ['web', 'web-post']);
      problem(await api('GET', '/clients?limit=0'), 400, 'invalid_input');
      problem(await api('GET', '/clients?limit=201'), 400, 'invalid_input');
      problem(await api('GET', '/clients?limit=1&limit=2'), 400);
    });

    it('clients: rotating the secret with an overlap: the old secret works at /token until the overlap ends', async () => {
      const old = SECRETS.svc!;
      const res = await ok(api('POST', '/clients/svc/secret', { body: { overlap: 60 } }));
      const fresh = res.json().client_secret as string;
      assert.equal(res.json().overlap_seconds, 60);
      assert.ok(Date.parse(res.json().previous_secret_expires_at) > Date.now());
      assert.equal((await token('svc', fresh)).statusCode, 200);
      assert.equal((await token('svc', old)).statusCode, 200, 'the old secret works within the overlap');
      assert.equal((await token('svc', 'wrong-secret-0123456789')).statusCode, 401);
      const shown = (await ok(api('GET', '/clients/svc'))).json();
      assert.equal(shown.previous_secret_expires_at, res.json().previous_secret_expires_at);
      assert.ok(!JSON.stringify(shown).includes('hs256$'));
      const rec = (await records('client_secret_rotated')).at(-1)!;
      assert.equal(rec.details.overlap_seconds, 60);
      assert.equal(rec.details.previous_secret_expires_at, res.json().previous_secret_expires_at);
      assert.ok(!JSON.stringify(rec).includes(fresh) && !JSON.stringify(rec).includes(old));
      ahead = 61;
      try {
        assert.equal((await token('svc', old)).statusCode, 401, 'not after the overlap');
        assert.equal((await token('svc', fresh)).statusCode, 200);
      } finally {
        ahead = 0;
      }
      // The default overlap is TESSERA_CLIENT_SECRET_OVERLAP; a second rotation ends the older secret at once.
      const second = await ok(api('POST', '/clients/svc/secret'));
      assert.equal(second.json().overlap_seconds, 600);
      const third = await ok(api('POST', '/clients/svc/secret', { body: { overlap: 0 } }));
      assert.equal(third.json().overlap_seconds, 0);
      assert.equal(third.json().previous_secret_expires_at, null);
      assert.equal((await token('svc', second.json().client_secret)).statusCode, 401, 'overlap 0 refuses at once');
      assert.equal((await token('svc', fresh)).statusCode, 401);
      assert.equal((await token('svc', third.json().client_secret)).statusCode, 200);
      assert.equal((await ok(api('GET', '/clients/svc'))).json().previous_secret_expires_at, undefined);
      // Public clients have no secret; overlap out of range is bad input.
      problem(await api('POST', '/clients/spa/secret'), 400);
      problem(await api('POST', '/clients/svc/secret', { body: { overlap: -1 } }), 400, 'invalid_input');
      problem(await api('POST', '/clients/svc/secret', { body: { overlap: 2_592_001 } }), 400, 'invalid_input');
      problem(await api('POST', '/clients/nobody/secret'), 404);
    });

    it('clients: a new secret set by PATCH ends the overlap of the last rotation', async () => {
      const first = (
        await ok(
          api('POST', '/clients', {
            body: { client_id: 'rot2', grant_types: ['client_credentials'], scope: 'api:read' },
          }),
          201,
        )
      ).json().client_secret as string;
      const rotated = await ok(api('POST', '/clients/rot2/secret', { body: { overlap: 300 } }));
      assert.equal((await token('rot2', first)).statusCode, 200);
      const given = 'rot2-new-secret-0123456789-abcdefghijklmnop';
      await ok(api('PATCH', '/clients/rot2', { body: { client_secret: given } }));
      assert.equal((await token('rot2', first)).statusCode, 401);
      assert.equal((await token('rot2', rotated.json().client_secret)).statusCode, 401);
      assert.equal((await token('rot2', given)).statusCode, 200);
      assert.equal((await ok(api('GET', '/clients/rot2'))).json().previous_secret_expires_at, undefined);
    });

    it('clients: disable refuses tokens at once, enable restores; revoke-tokens; delete (204, then 404)', async () => {
      const secret = (
        await ok(
          api('POST', '/clients', {
            body: { client_id: 'temp', grant_types: ['client_credentials'], scope: 'api:read' },
          }),
          201,
        )
      ).json().client_secret as string;
      const issued = (await token('temp', secret)).json().access_token as string;
      const introspect = async () =>
        (await form(app, '/introspect', { token: issued }, { authorization: basic('rs') })).json().active;
      assert.equal(await introspect(), true);
      const off = await ok(api('POST', '/clients/temp/disable'));
      assert.equal(off.json().disabled, true);
      assert.equal(await introspect(), false);
      assert.equal((await token('temp', secret)).statusCode, 401);
      await ok(api('POST', '/clients/temp/enable'));
      assert.equal(await introspect(), false, 'no token comes back');
      const again = (await token('temp', secret)).json().access_token as string;
      const revoked = await ok(api('POST', '/clients/temp/revoke-tokens'));
      assert.equal(typeof revoked.json().grants_revoked, 'number');
      assert.equal(
        (await form(app, '/introspect', { token: again }, { authorization: basic('rs') })).json().active,
        false,
      );
      assert.equal((await token('temp', secret)).statusCode, 200, 'the client stays in service');
      const del = await api('DELETE', '/clients/temp');
      assert.equal(del.statusCode, 204, del.body);
      assert.equal(del.body, '');
      problem(await api('GET', '/clients/temp'), 404, 'not_found');
      problem(await api('DELETE', '/clients/temp'), 404);
      problem(await api('POST', '/clients/temp/disable'), 404);
      const [deleted, missing] = (await records('client_deleted')).slice(-2);
      assert.match(String(deleted!.details.before), /"client_id":"temp"/);
      assert.equal(deleted!.outcome, 'success');
      assert.equal(missing!.outcome, 'failure'); // the second DELETE: refused, and recorded
      assert.equal(missing!.details.reason, 'NotFoundError');
    });

    it('clients: approve and reject registrations waiting under admin_approval', async () => {
      const pending = async (id: string) =>
        saveClient(
          app.stores,
          app.provider.config,
          { client_id: id, redirect_uris: ['https://pending.example/cb'], disabled: true },
          app.provider.now(),
          { registration: { access_token_hash: 'x'.repeat(43), mode: 'admin_approval' } },
        );
      await pending('wait-1');
      await pending('wait-2');
      const approved = await ok(api('POST', '/clients/wait-1/approve'));
      assert.equal(approved.json().disabled, false);
      problem(await api('POST', '/clients/wait-1/approve'), 409, 'conflict');
      problem(await api('POST', '/clients/web/reject'), 409);
      assert.ok(await app.stores.clients.get('web'));
      await ok(api('POST', '/clients/wait-2/reject'));
      assert.equal(await app.stores.clients.get('wait-2'), undefined);
      const rejected = (await records('client_rejected')).filter((r) => r.outcome === 'success');
      assert.equal(rejected.at(-1)!.clientId, 'wait-2');
    });

    it('resources: create, read with ETag, update with If-Match, list, delete; bad input changes nothing', async () => {
      const id = 'https://api.example.com/';
      const created = await ok(
        api('POST', '/resources', { body: { identifier: id, display_name: 'API', scopes: { 'api:read': 'Read' } } }),
        201,
      );
      assert.equal(created.json().display_name, 'API');
      const stored = created.json().identifier as string;
      const path = `/resources/${encodeURIComponent(stored)}`;
      problem(await api('POST', '/resources', { body: { identifier: id, display_name: 'Again' } }), 409);
      const read = await ok(api('GET', path));
      problem(await api('PATCH', path, { body: { display_name: 'X' }, headers: { 'if-match': '"old"' } }), 412);
      const changed = await ok(
        api('PATCH', path, { body: { access_token_ttl: 120 }, headers: { 'if-match': read.headers.etag as string } }),
      );
      assert.equal(changed.json().access_token_ttl, 120);
      // This instance issues tokens under the change at once (its copy of the registry was dropped).
      const secret = (
        await ok(
          api('POST', '/clients', {
            body: { client_id: 'resource-user', grant_types: ['client_credentials'], scope: 'api:read' },
          }),
          201,
        )
      ).json().client_secret as string;
      const issued = await form(
        app,
        '/token',
        { grant_type: 'client_credentials', scope: 'api:read', resource: stored },
        { authorization: basic('resource-user', secret) },
      );
      assert.equal(issued.statusCode, 200, issued.body);
      const claims = decodeJwt(issued.json().access_token);
      assert.equal(claims.aud, stored);
      assert.equal(claims.exp! - claims.iat!, 120);
      assert.deepEqual(changed.json().scopes, { 'api:read': 'Read' });
      problem(await api('PATCH', path, { body: { access_token_ttl: 5 } }), 400);
      problem(await api('PATCH', path, { body: { scopes: { 'no such scope': 'x' } } }), 400);
      problem(await api('POST', '/resources', { body: { identifier: 'not a uri', display_name: 'x' } }), 400);
      assert.equal((await app.stores.resourceServers.get(stored))!.accessTokenTtl, 120);
      const listed = (await ok(api('GET', '/resources'))).json().items as { identifier: string }[];
      assert.ok(listed.some((r) => r.identifier === stored));
      assert.equal((await api('DELETE', path)).statusCode, 204);
      problem(await api('GET', path), 404);
      assert.deepEqual(
        (await records('resource_updated')).filter((r) => r.outcome === 'success').map((r) => r.details.identifier),
        [stored],
      );
    });

    it('upstreams: put (201, then 200), read without the secret, disable/enable, remove; the API reads no environment', async () => {
      const body = {
        kind: 'oidc',
        label: 'Corp',
        issuer: 'https://idp.example.com',
        client_id: 'tessera',
        client_secret: 'upstream-secret-0123456789',
      };
      const made = await ok(api('PUT', '/upstreams/corp', { body }), 201);
      assert.equal(made.json().secret, 'stored');
      assert.ok(!made.body.includes('upstream-secret'));
      const read = await ok(api('GET', '/upstreams/corp'));
      assert.equal(read.headers.etag, made.headers.etag);
      const { client_secret: _, ...withoutSecret } = body;
      const replaced = await ok(
        api('PUT', '/upstreams/corp', {
          body: { ...withoutSecret, label: 'Corp SSO' },
          headers: { 'if-match': read.headers.etag as string },
        }),
      );
      assert.equal(replaced.json().label, 'Corp SSO');
      assert.equal(replaced.json().secret, 'stored', 'a secret left out is kept');
      // ...but not when the provider moves: the stored secret would go to wherever the change points.
      const stored = (await app.stores.upstreams.get('corp'))!.secretWrapped;
      for (const moved of [
        { issuer: 'https://elsewhere.example.com' },
        { token_endpoint: 'https://elsewhere.example.com/token' },
        { discovery_url: 'https://elsewhere.example.com/.well-known/openid-configuration' },
        { client_id: 'another' },
      ]) {
        const res = await api('PUT', '/upstreams/corp', { body: { ...withoutSecret, label: 'Corp SSO', ...moved } });
        assert.match(String(problem(res, 400).detail), /client_secret .*is required: the stored one is not kept/);
      }
      assert.equal((await app.stores.upstreams.get('corp'))!.secretWrapped, stored);
      assert.equal((await app.stores.upstreams.get('corp'))!.issuer, 'https://idp.example.com');
      problem(await api('PUT', '/upstreams/corp', { body, headers: { 'if-match': read.headers.etag as string } }), 412);
      problem(await api('PUT', '/upstreams/corp', { body: { ...body, client_secret_env: 'TESSERA_SECRET' } }), 400);
      problem(await api('PUT', '/upstreams/corp', { body: { ...body, issuer: 'http://10.0.0.1' } }), 400);
      assert.equal((await app.stores.upstreams.get('corp'))!.label, 'Corp SSO');
      assert.equal((await ok(api('POST', '/upstreams/corp/disable'))).json().enabled, false);
      assert.equal((await ok(api('POST', '/upstreams/corp/enable'))).json().enabled, true);
      assert.deepEqual(
        (await ok(api('GET', '/upstreams'))).json().items.map((u: { id: string }) => u.id),
        ['corp'],
      );
      assert.equal((await api('DELETE', '/upstreams/corp')).statusCode, 204);
      problem(await api('GET', '/upstreams/corp'), 404);
      problem(await api('POST', '/upstreams/corp/enable'), 404);
    });

    it('settings: the effective settings, secrets never shown', async () => {
      const res = await ok(api('GET', '/settings'));
      assert.ok(!res.body.includes(TOKEN));
      assert.ok(!res.body.includes(app.provider.config.secret));
      const settings = res.json().settings as { env: string; value: string; source: string }[];
      assert.equal(settings.find((s) => s.env === 'TESSERA_ADMIN_TOKEN')!.value, '(redacted)');
      assert.equal(settings.find((s) => s.env === 'TESSERA_CLIENT_SECRET_OVERLAP')!.value, '600');
    });

    it('dashboard: counts from the database, key states, health, per-minute figures and security events', async () => {
      const minute = Math.floor(app.provider.now() / 60) * 60;
      await app.stores.stats.add(minute - 60, { tokens_issued: 3, sign_ins_ok: 2, sign_ins_failed: 1 });
      await app.stores.stats.add(minute - 60, { tokens_issued: 4 }); // another instance
      const res = await ok(api('GET', '/dashboard?hours=2'));
      const d = res.json();
      assert.equal(d.counts.users, 1);
      assert.equal(d.counts.clients, (await app.stores.clients.list()).length);
      assert.equal(typeof d.counts.live_sessions, 'number');
      assert.equal(typeof d.counts.active_grants, 'number');
      assert.equal(d.activity.totals.tokens_issued, 7);
      assert.equal(d.activity.totals.sign_ins_failed, 1);
      assert.equal(d.keys.length, 1);
      assert.equal(d.keys[0].state, 'active');
      assert.equal(d.health.database, 'ok');
      assert.ok(Array.isArray(d.security_events));
      assert.ok(d.security_events.some((e: { type: string }) => e.type === 'client_secret_rotated'));
      problem(await api('GET', '/dashboard?hours=49'), 400, 'invalid_input');
    });

    it('dashboard: security events in full only for a principal who may read the audit trail', async () => {
      const dashboard = ADMIN_ACTIONS.find((a) => a.name === 'dashboard.read')!;
      const events = async (scopes: readonly string[]) => {
        const actor = { kind: 'user' as const, id: 'someone', scopes: new Set(scopes), via: 'api' as const, ip: null };
        const r = await runAction(app.provider, dashboard, actor, {});
        return (r.result as { security_events: Record<string, unknown>[] }).security_events;
      };
      // A security event with an address and details: a client that fails to authenticate.
      assert.equal((await token('svc', 'not-the-secret')).statusCode, 401);
      await app.audit.flush();
      // The owner (break-glass): every member of the records, the address and the details too.
      const full = (await ok(api('GET', '/dashboard'))).json().security_events as Record<string, unknown>[];
      const failed = full.find((e) => e.type === 'client_auth_failed');
      assert.ok(failed && failed.ip && 'details' in failed && 'actor' in failed, JSON.stringify(full));
      assert.ok(!ROLE_SCOPES.support.includes('admin:audit:read' as never));
      for (const scopes of [ROLE_SCOPES.support, ['admin:dashboard:read']]) {
        const shown = await events(scopes);
        assert.equal(shown.length, full.length);
        for (const e of shown) assert.deepEqual(Object.keys(e).sort(), ['at', 'outcome', 'type'], JSON.stringify(e));
        assert.deepEqual(
          shown.map((e) => [e.type, e.at, e.outcome]),
          full.map((e) => [e.type, e.at, e.outcome]),
        );
      }
      assert.equal((await events(ROLE_SCOPES.auditor))[0]?.details !== undefined, true);
    });

    it('audit: list newest first with filters and a cursor; bad filters are 400', async () => {
      const all = (await ok(api('GET', '/audit?limit=200&type=client_updated'))).json().items as {
        seq: number;
        type: string;
        outcome: string;
      }[];
      assert.ok(all.length >= 4);
      assert.ok(all.every((r) => r.type === 'client_updated'));
      assert.deepEqual(
        all.map((r) => r.seq),
        [...all.map((r) => r.seq)].sort((a, b) => b - a),
      );
      const paged: number[] = [];
      let cursor: string | undefined;
      do {
        const page = (
          await ok(api('GET', `/audit?limit=2&type=client_updated${cursor ? `&cursor=${cursor}` : ''}`))
        ).json();
        paged.push(...page.items.map((r: { seq: number }) => r.seq));
        cursor = page.next_cursor;
      } while (cursor);
      assert.deepEqual(
        paged,
        all.map((r) => r.seq),
      );
      const failures = (await ok(api('GET', '/audit?type=client_updated&outcome=failure'))).json().items;
      assert.ok(failures.length >= 1 && failures.every((r: { outcome: string }) => r.outcome === 'failure'));
      const bySvc = (await ok(api('GET', '/audit?client_id=svc'))).json().items;
      assert.ok(bySvc.length >= 1 && bySvc.every((r: { client_id: string }) => r.client_id === 'svc'));
      const future = encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString());
      assert.deepEqual((await ok(api('GET', `/audit?from=${future}`))).json().items, []);
      for (const q of ['from=yesterday', 'to=2025-13-45', 'limit=0', 'outcome=maybe', 'cursor=xyz', 'type=a&type=b'])
        problem(await api('GET', `/audit?${q}`), 400);
    });

    it('audit: export as CSV and JSON Lines (oldest first, recorded with its count); verify the chain', async () => {
      const csv = await ok(api('GET', '/audit/export?format=csv&type=client_secret_rotated'));
      assert.match(csv.headers['content-type'] as string, /^text\/csv; charset=utf-8/);
      const lines = csv.body.split('\r\n');
      assert.equal(lines[0], 'seq,at,type,actor,client_id,ip,outcome,details,prev_hash,hash');
      assert.ok(lines.slice(1, -1).every((l) => l.includes(',client_secret_rotated,admin,')));
      assert.ok(lines.some((l) => l.includes(',client_secret_rotated,admin,svc,127.0.0.1,success,')));
      const jsonl = await ok(api('GET', '/audit/export?format=jsonl&type=client_created'));
      assert.match(jsonl.headers['content-type'] as string, /^application\/jsonl/);
      const rows = jsonl.body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.ok(rows.length >= 2 && rows.every((r) => r.type === 'client_created'));
      problem(await api('GET', '/audit/export?format=xml'), 400);
      const exported = (await records('audit_exported')).at(-1)!;
      assert.equal(exported.details.format, 'jsonl');
      assert.equal(exported.details.count, rows.length);
      // One export holds at most 100 000 records (a longer trail is exported in parts by from/to).
      problem(await api('GET', '/audit/export?limit=100001'), 400, 'invalid_input');
      assert.equal((await ok(api('GET', '/audit/export?limit=1&format=jsonl'))).body.trim().split('\n').length, 1);

      const verified = await ok(api('GET', '/audit/verify'));
      assert.equal(verified.json().ok, true);
      assert.ok(verified.json().checked > 10);
    });

    it('every action is reachable under /admin/api/v1 and listed in the OpenAPI document', async () => {
      const doc = (await app.server.inject({ url: `${BASE}/openapi.json` })).json();
      const ids = Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap((ops) =>
        Object.values(ops).map((o) => o.operationId),
      );
      for (const name of [
        'clients.list',
        'clients.create',
        'clients.read',
        'clients.update',
        'clients.delete',
        'clients.disable',
        'clients.enable',
        'clients.rotate-secret',
        'clients.revoke-tokens',
        'clients.approve',
        'clients.reject',
        'resources.list',
        'resources.create',
        'resources.read',
        'resources.update',
        'resources.delete',
        'upstreams.list',
        'upstreams.read',
        'upstreams.put',
        'upstreams.remove',
        'upstreams.enable',
        'upstreams.disable',
        'audit.list',
        'audit.export',
        'audit.verify',
        'settings.read',
        'dashboard.read',
      ])
        assert.ok(ids.includes(name), name);
    });
  });
}

describe('admin API v1: a change and its audit record commit together (SQLite file)', () => {
  const url = sqliteTempUrl();
  let app: App;
  let db: DatabaseSync;
  before(async () => {
    app = await testApp(url, { TESSERA_ADMIN_TOKEN: TOKEN });
    db = new DatabaseSync(url.slice('sqlite:'.length));
  });
  after(async () => {
    db?.close();
    await app?.close();
    rmSync(dirname(url.slice('sqlite:'.length)), { recursive: true, force: true });
  });

  it('when the audit record cannot be written, the change is not made either', async () => {
    const patch = () =>
      app.server.inject({
        method: 'PATCH',
        url: `${BASE}/clients/web`,
        payload: JSON.stringify({ client_name: 'Unrecorded' }),
        headers: { authorization: `Bearer ${TOKEN}`, ...JSON_HEADERS },
      });
    // The database refuses the action's record (and only it): the client's update, made first, must roll back.
    db.exec(
      "CREATE TRIGGER refuse_record BEFORE INSERT ON audit_events WHEN NEW.type = 'client_updated' " +
        "BEGIN SELECT RAISE(ABORT, 'refused'); END",
    );
    const refused = await patch();
    assert.ok(refused.statusCode >= 500, `${refused.statusCode} ${refused.body}`);
    assert.equal((await app.stores.clients.get('web'))!.clientName, 'Web App', 'unchanged');
    db.exec('DROP TRIGGER refuse_record');
    const saved = await patch();
    assert.equal(saved.statusCode, 200, saved.body);
    assert.equal((await app.stores.clients.get('web'))!.clientName, 'Unrecorded');
    await app.audit.flush(); // refusals are written by the batching audit writer
    const [rec] = await app.stores.audit.query({ type: 'client_updated' });
    assert.match(String(rec!.details.after), /"client_name":"Unrecorded"/);
  });
});
