/**
 * The CLI and what came from clients (issue 13 point 6): names with control or bidirectional
 * formatting characters are refused, and anything stored earlier is printed escaped. The registry
 * of resource servers through `tessera resource ...` (point 7). Run as a child process on SQLite
 * and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, describe, it } from 'node:test';
import { openStores } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { Stores } from '../../src/ports/index.ts';
import { cliBackends, runCli } from '../fixtures/cli.ts';

const NOW = Math.floor(Date.now() / 1000);
// Characters that must never reach a terminal raw.
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

const backends = await cliBackends();

describe('tessera CLI: client text and the resource registry', { concurrency: true }, () => {
  for (const backend of backends) {
    describe(`on ${backend.name}`, { skip: backend.skip, concurrency: false }, () => {
      const env = { DATABASE_URL: backend.url };
      const config = loadConfig({ ...env, TESSERA_ENV: 'development' });
      const cli = (args: string[]) => runCli(args, { TESSERA_EXTRA_SCOPES: 'orders.read orders.write', ...env });
      const withStores = async <T>(fn: (s: Stores) => Promise<T>): Promise<T> => {
        const { stores } = await openStores(config, { migrate: false });
        try {
          return await fn(stores);
        } finally {
          await stores.close();
        }
      };
      after(async () => {
        if (backend.url.startsWith('sqlite:'))
          rmSync(dirname(backend.url.slice('sqlite:'.length)), { recursive: true, force: true });
        else await backend.drop?.();
      });

      it('refuses a client name with a bidi override or a line break', async () => {
        assert.equal((await cli(['migrate'])).code, 0);
        for (const name of ['Good\u202Egnp.exe', 'two\nlines', 'esc\u001b]0;title\u0007']) {
          const r = await cli([
            'client',
            'create',
            '--id',
            'bad',
            '--name',
            name,
            '--redirect-uri',
            'https://app.example/cb',
          ]);
          assert.equal(r.code, 1, r.out);
          assert.match(r.err, /client_name must not contain control characters/);
          assert.doesNotMatch(r.err + r.out, RAW, 'the refusal itself prints nothing raw');
        }
        assert.equal(await withStores((s) => s.clients.get('bad')), undefined);
      });

      it('prints names stored earlier escaped, in tables and JSON', async () => {
        // As an older version could have stored it.
        await withStores((s) =>
          s.clients.put({
            clientId: 'legacy',
            clientName: 'Evil\u001b[2J\u202Egnp.exe\r\nFAKE-ROW',
            secretHash: null,
            tokenEndpointAuthMethod: 'none',
            applicationType: 'web',
            redirectUris: ['https://app.example/cb'],
            postLogoutRedirectUris: [],
            grantTypes: ['authorization_code'],
            scopes: ['openid'],
            allowedResources: [],
            skipConsent: false,
            disabled: false,
            metadata: {},
            createdAt: NOW,
            updatedAt: NOW,
          }),
        );
        const list = await cli(['client', 'list']);
        assert.equal(list.code, 0, list.err);
        assert.doesNotMatch(list.out, RAW);
        assert.match(list.out, /Evil\\u001b\[2J\\u202egnp\.exe\\u000d\\u000aFAKE-ROW/);
        assert.equal(list.out.trim().split('\n').length, 2, 'one header and one row: the name cannot add lines');
        const show = await cli(['client', 'show', 'legacy']);
        assert.doesNotMatch(show.out, RAW);
        // Still valid JSON, with the name intact once parsed.
        assert.equal(JSON.parse(show.out).client_name, 'Evil\u001b[2J\u202Egnp.exe\r\nFAKE-ROW');
        const json = await cli(['client', 'list', '--json']);
        assert.doesNotMatch(json.out, RAW);
        assert.equal(
          JSON.parse(json.out).find((c: { client_id: string }) => c.client_id === 'legacy').client_name,
          'Evil\u001b[2J\u202Egnp.exe\r\nFAKE-ROW',
        );
      });

      it('resource create, update, list, show and delete manage the registry', async () => {
        const created = await cli([
          'resource',
          'create',
          '--identifier',
          'https://orders.example/api',
          '--name',
          'Orders API',
          '--scope',
          'orders.read=See your orders',
          '--scope',
          'orders.write=Change your orders',
          '--ttl',
          '300',
          '--dpop',
          'required',
        ]);
        assert.equal(created.code, 0, created.err);
        assert.deepEqual(JSON.parse(created.out).scopes, {
          'orders.read': 'See your orders',
          'orders.write': 'Change your orders',
        });
        const stored = await withStores((s) => s.resourceServers.get('https://orders.example/api'));
        assert.equal(stored?.accessTokenTtl, 300);
        assert.equal(stored?.dpop, 'required');
        const again = await cli([
          'resource',
          'create',
          '--identifier',
          'https://orders.example/api',
          '--name',
          'Orders API',
        ]);
        assert.equal(again.code, 1);
        assert.match(again.err, /already exists/);
        for (const [args, why] of [
          [['--name', 'bad\u202Ename'], /display_name must not contain/],
          [['--name', 'x', '--dpop', 'maybe'], /dpop must be required or optional/],
          [['--name', 'x', '--scope', 'nope=x'], /not offered by this server/],
          [['--name', 'x', '--alg', 'PS256'], /is not one of the algorithms Tessera signs with/],
        ] as const) {
          const r = await cli(['resource', 'create', '--identifier', 'https://bad.example/', ...args]);
          assert.equal(r.code, 1, r.out);
          assert.match(r.err, why);
          assert.doesNotMatch(r.err, RAW);
        }
        const updated = await cli([
          'resource',
          'update',
          'https://orders.example/api',
          '--dpop',
          'optional',
          '--ttl',
          '120',
        ]);
        assert.equal(updated.code, 0, updated.err);
        const after = await withStores((s) => s.resourceServers.get('https://orders.example/api'));
        assert.equal(after?.dpop, 'optional');
        assert.equal(after?.accessTokenTtl, 120);
        assert.equal(after?.displayName, 'Orders API', 'what was not given is kept');
        assert.equal(after?.scopes.length, 2);
        const list = await cli(['resource', 'list']);
        assert.match(
          list.out,
          /https:\/\/orders\.example\/api\s+Orders API\s+orders\.read orders\.write\s+120s\s+optional/,
        );
        assert.equal(
          JSON.parse((await cli(['resource', 'show', 'https://orders.example/api'])).out).display_name,
          'Orders API',
        );
        assert.equal((await cli(['resource', 'delete', 'https://orders.example/api'])).code, 0);
        assert.equal((await cli(['resource', 'delete', 'https://orders.example/api'])).code, 1);
        assert.match((await cli(['resource', 'list'])).out, /no resource servers/);
      });
    });
  }
});
