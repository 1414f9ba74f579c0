/**
 * `tessera client disable|enable|show|delete URL` for Client ID Metadata Document clients (an https
 * client_id, never stored), run for real as a child process against a temporary SQLite database and
 * PostgreSQL: disabling blocks the URL and revokes its grants, with an audit event; enabling lifts
 * the block; delete is refused with a pointer to disable. The HTTP side: test/integration/cimd-block.test.ts.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, describe, it } from 'node:test';
import { saveUser } from '../../src/admin/users.ts';
import { openStores } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { Stores } from '../../src/ports/index.ts';
import { cliBackends, runCli, type CliResult } from '../fixtures/cli.ts';

const NOW = Math.floor(Date.now() / 1000);
const URL_ID = 'https://agent.example.com/mcp/client.json';

const backends = await cliBackends();

describe('tessera client disable/enable for metadata document clients', { concurrency: true }, () => {
  for (const backend of backends) {
    describe(`on ${backend.name}`, { skip: backend.skip, concurrency: false }, () => {
      const env = { DATABASE_URL: backend.url };
      const config = loadConfig({ ...env, TESSERA_ENV: 'development' });
      const cli = (...args: string[]) => runCli(args, env);
      const ok = async (...args: string[]) => {
        const r = await cli(...args);
        assert.equal(r.code, 0, `tessera ${args.join(' ')} failed: ${r.err}`);
        return r;
      };
      const fails = (r: CliResult, message: RegExp) => {
        assert.equal(r.code, 1, `exit code; stderr: ${r.err}`);
        assert.match(r.err, message);
        assert.doesNotMatch(r.err, /^\s+at /m, 'no stack trace');
      };
      const withStores = async <T>(fn: (s: Stores) => Promise<T>): Promise<T> => {
        const { stores } = await openStores(config, { migrate: false });
        try {
          return await fn(stores);
        } finally {
          await stores.close();
        }
      };
      /** A live grant of `clientId` for a new user; its id. */
      const grant = (clientId: string) =>
        withStores(async (s) => {
          const { user } = await saveUser(s, { username: `u${randomUUID().slice(0, 8)}` }, NOW);
          const id = randomUUID();
          await s.grants.create(
            {
              id,
              clientId,
              userId: user.id,
              scope: 'openid',
              resource: null,
              sid: null,
              authTime: NOW,
              amr: ['pwd'],
              createdAt: NOW,
              expiresAt: NOW + 86_400,
              revokedAt: null,
            },
            null,
            { jti: randomUUID(), expiresAt: NOW + 300 },
          );
          return id;
        });
      const isRevoked = (id: string) => withStores(async (s) => (await s.grants.get(id))!.revokedAt !== null);
      const audits = (type: string) =>
        withStores(async (s) => (await s.audit.query({ type })).filter((e) => e.clientId === URL_ID));

      after(async () => {
        if (backend.url.startsWith('sqlite:'))
          rmSync(dirname(backend.url.slice('sqlite:'.length)), { recursive: true, force: true });
        else await backend.drop?.();
      });

      it('disable blocks the URL and revokes its grants; show tells; delete is refused; enable lifts the block', async () => {
        await ok('migrate');
        const g = await grant(URL_ID);
        const other = await grant('https://other.example.com/client.json');

        const disabled = await ok('client', 'disable', URL_ID);
        assert.match(disabled.out, /blocked: its metadata document is no longer fetched/);
        assert.match(disabled.out, /grants \(1\) revoked/);
        assert.ok(await isRevoked(g));
        assert.equal(await isRevoked(other), false);
        assert.equal(await withStores((s) => s.clientBlocks.has(URL_ID)), true);
        assert.equal(await withStores((s) => s.clients.get(URL_ID)), undefined, 'nothing stored as a client');
        const [event] = await audits('client_disabled');
        // The record of the action clients.disable, run by the CLI.
        const picked = (d: Record<string, unknown> | undefined) => ({
          grants_revoked: d?.grants_revoked,
          metadata_document: d?.metadata_document,
          changed: d?.changed,
        });
        assert.deepEqual(picked(event?.details), { grants_revoked: 1, metadata_document: true, changed: true });
        assert.equal(event?.actor, 'cli');

        assert.match(
          (await ok('client', 'list')).out,
          new RegExp(`^${URL_ID.replaceAll('.', '\\.')}\\s+metadata document\\s+blocked$`, 'm'),
        );
        const listed = JSON.parse((await ok('client', 'list', '--json')).out);
        assert.deepEqual(
          listed
            .filter((c: { client_id: string }) => c.client_id === URL_ID)
            .map((c: { blocked: boolean }) => c.blocked),
          [true],
        );
        const shown = JSON.parse((await ok('client', 'show', URL_ID)).out);
        assert.equal(shown.blocked, true);
        assert.equal(shown.metadata_document, true);
        fails(await cli('client', 'delete', URL_ID), /never stored.*client disable/);
        fails(await cli('client', 'disable', 'https://agent.example.com/'), /not a client metadata document URL/);

        assert.match((await ok('client', 'enable', URL_ID)).out, /unblocked/);
        assert.equal(await withStores((s) => s.clientBlocks.has(URL_ID)), false);
        assert.equal(JSON.parse((await ok('client', 'show', URL_ID)).out).blocked, false);
        assert.ok(!(await ok('client', 'list')).out.includes(URL_ID));
        const [enabled] = await audits('client_enabled');
        assert.deepEqual(picked(enabled?.details), { grants_revoked: 0, metadata_document: true, changed: true });
        // Enabling what is not blocked changes nothing (a live grant stays live), recorded as unchanged.
        const live = await grant(URL_ID);
        assert.match((await ok('client', 'enable', URL_ID)).out, /was not blocked: nothing changed/);
        assert.equal(await isRevoked(live), false);
        assert.deepEqual(
          (await audits('client_enabled')).map((e) => e.details.changed),
          [true, false],
        );
      });
    });
  }
});
