// The role-by-action authorization matrix (issue 20): for EVERY action of the table and every admin
// role (owner, admin, support, auditor) and no role at all, runAction lets a person through iff the
// role's scopes (ROLE_SCOPES) hold the action's permission. A refusal is a 403 that changes nothing
// stored and leaves a failure audit record naming the action; an allowed call gets past the gate
// (it succeeds, or the action itself answers 400/404/409/412 for the made-up record it names; never
// a 403, never an unexpected error). Then the same through the console's routes for writes of every
// area: the form page (GET /admin/do/<action>) and the post with a valid CSRF token.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { runAction, statusOf, ActionRefused, type AdminAction, type AdminPrincipal } from '../../src/admin/action.ts';
import { ADMIN_ACTIONS } from '../../src/admin/actions/index.ts';
import { saveUser } from '../../src/admin/users.ts';
import type { App } from '../../src/app.ts';
import { ADMIN_ROLES, type AdminRole } from '../../src/ports/admin.ts';
import { ROLE_SCOPES } from '../../src/protocol/admin-scopes.ts';
import { tokenHash } from '../../src/protocol/hash.ts';
import { csrfToken } from '../../src/protocol/interaction/session.ts';
import { backends, form, testApp } from '../fixtures/app.ts';

type Who = AdminRole | 'none';
const WHO: readonly Who[] = [...ADMIN_ROLES, 'none'];
const NONE = 'matrix-no-such-record';

/**
 * A minimal input of each action: lists and reads as they are; changes name a record that does not
 * exist (the action answers 404 past the gate), or make a new one of their own (per person, so no
 * two collide). An action added to the table later gets its required strings as NONE.
 */
function inputOf(action: AdminAction, who: Who): Record<string, unknown> {
  const own: Record<string, Record<string, unknown>> = {
    'clients.create': { client_id: `matrix-${who}`, client_name: `Matrix ${who}`, grant_types: ['client_credentials'] },
    'users.create': { username: `matrix-${who}` },
    'roles.set': { user_id: NONE, role: 'auditor' },
    'resources.create': { identifier: `https://matrix.example/${who}`, display_name: `Matrix ${who}` },
    'resources.read': { identifier: 'https://matrix.example/none' },
    'resources.update': { identifier: 'https://matrix.example/none', display_name: 'x' },
    'resources.delete': { identifier: 'https://matrix.example/none' },
    'users.unlink': { user_id: NONE, provider: NONE },
    'consents.revoke': { user_id: NONE, client_id: NONE },
    'upstreams.put': { id: NONE, client_id: NONE },
    'consents.list': { user_id: NONE },
  };
  if (own[action.name]) return own[action.name]!;
  const shape = (action.input as unknown as { shape?: Record<string, { safeParse(v: unknown): { success: boolean } }> })
    .shape;
  const input: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(shape ?? {})) if (!v.safeParse(undefined).success) input[k] = NONE;
  return input;
}

const allowed = (who: Who, action: AdminAction) =>
  who !== 'none' && (ROLE_SCOPES[who] as readonly string[]).includes(action.permission);

for (const backend of await backends()) {
  describe(`admin authorization matrix (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL not reachable',
  }, () => {
    let app: App;
    const ids = {} as Record<Who, string>;

    before(async () => {
      app = await testApp(backend.url!, { TESSERA_ADMIN_CONSOLE: 'true' });
      const now = app.provider.now();
      for (const who of WHO) {
        const { user } = await saveUser(app.stores, { username: `op-${who}`, password: 'matrix password 8812' }, now);
        ids[who] = user.id;
        if (who !== 'none')
          await app.stores.adminRoles.set({ userId: user.id, role: who, grantedAt: now, grantedBy: 'cli' });
      }
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    /** A person freshly signed in with a second factor, as the console makes its principal. */
    const principal = (who: Who): AdminPrincipal => ({
      kind: 'user',
      id: ids[who],
      scopes: new Set(who === 'none' ? [] : ROLE_SCOPES[who]),
      authTime: app.provider.now(),
      via: 'console',
      ip: '192.0.2.7',
    });

    /** What a refused call must leave as it was. */
    async function state(): Promise<string> {
      const s = app.stores;
      const now = app.provider.now();
      return JSON.stringify([
        await s.keys.list(),
        (await s.clients.page({ limit: 200 })).items,
        (await s.users.page({ limit: 200 })).items,
        await s.adminRoles.list(),
        await s.resourceServers.list(),
        await s.upstreams.list(),
        (await s.sessions.page({ limit: 200 }, now)).items,
      ]);
    }
    const failures = async (action: AdminAction, who: Who) => {
      await app.audit.flush(); // refusals are written by the batching audit writer
      const rows = await app.stores.audit.query({
        type: action.event,
        actor: ids[who],
        outcome: 'failure',
        limit: 1000,
      });
      return rows.filter((r) => r.details?.action === action.name && r.details?.reason === 'forbidden').length;
    };

    it('the table has actions of every permission the roles hand out', () => {
      const permissions = new Set(ADMIN_ACTIONS.map((a) => a.permission));
      for (const who of ADMIN_ROLES)
        assert.ok(
          ROLE_SCOPES[who].some((s) => permissions.has(s)),
          `${who} holds no permission any action asks for`,
        );
    });

    for (const who of WHO) {
      it(`runAction, ${who}: every action of the table allowed iff ${who}'s scopes hold its permission`, async () => {
        const problems: string[] = [];
        for (const action of ADMIN_ACTIONS) {
          const input = inputOf(action, who);
          const may = allowed(who, action);
          const was = may ? '' : await state();
          const recorded = may ? 0 : await failures(action, who);
          let status: number | undefined = 200;
          try {
            await runAction(app.provider, action, principal(who), input);
          } catch (err) {
            status = statusOf(err);
            if (status === undefined) {
              problems.push(`${action.name}: unexpected error ${(err as Error).stack?.slice(0, 300)}`);
              continue;
            }
            if (status === 403 && !(err instanceof ActionRefused && err.code === 'forbidden'))
              problems.push(`${action.name}: a 403 that is not the permission refusal`);
          }
          if (may) {
            if (status === 403 || status === 401) problems.push(`${action.name}: refused (${status}) though allowed`);
          } else {
            if (status !== 403) problems.push(`${action.name}: ${status} though ${who} lacks ${action.permission}`);
            if ((await state()) !== was) problems.push(`${action.name}: the refusal changed something stored`);
            if ((await failures(action, who)) !== recorded + 1)
              problems.push(`${action.name}: the refusal left no failure audit record`);
          }
        }
        assert.deepEqual(problems, []);
      });
    }

    // ---- through the console ---------------------------------------------------------------------

    /** A session cookie of `who`, signed in just now with a second factor. */
    async function sessionOf(who: Who): Promise<string> {
      const value = randomBytes(32).toString('base64url');
      const now = app.provider.now();
      await app.stores.sessions.create({
        idHash: tokenHash(value),
        sid: randomBytes(16).toString('base64url'),
        userId: ids[who],
        authTime: now,
        amr: ['pwd', 'otp', 'mfa'],
        createdAt: now,
        lastSeenAt: now,
        expiresAt: now + 3600,
      });
      return `tessera_session=${value}`;
    }
    const csrfFor = (cookie: string, action: string) =>
      csrfToken(app.provider, `console:${action}`, cookie.slice(cookie.indexOf('=') + 1));

    /** A write of every area (and each permission that guards writes), posted from the console. */
    const SAMPLE = [
      'clients.create',
      'clients.disable',
      'users.create',
      'users.disable',
      'users.unlock',
      'users.reset-factors',
      'sessions.end',
      'roles.set',
      'resources.create',
      'upstreams.enable',
      'keys.rotate',
      'keys.retire',
    ];
    const READS = ['settings.read', 'audit.export', 'keys.list', 'audit.verify'];

    for (const who of WHO) {
      it(`console, ${who}: the form pages and posts of a write of every area, and reads, allowed iff the role holds the permission`, async () => {
        const cookie = await sessionOf(who);
        const problems: string[] = [];
        for (const name of [...SAMPLE, ...READS]) {
          const action = ADMIN_ACTIONS.find((a) => a.name === name);
          if (!action) continue;
          const may = allowed(who, action);
          const recorded = await failures(action, who);
          const was = await state();
          const page = await app.server.inject({ url: `/admin/do/${name}?go=1`, headers: { cookie } });
          if (may) {
            if (page.statusCode === 403) problems.push(`GET ${name}: 403 though allowed`);
            if (page.statusCode >= 500) problems.push(`GET ${name}: ${page.statusCode}`);
          } else if (page.statusCode !== 403) problems.push(`GET ${name}: ${page.statusCode} though not allowed`);
          if (action.http?.method === 'GET') {
            if (!may && (await state()) !== was) problems.push(`GET ${name}: the refusal changed something`);
            continue;
          }
          const fields: Record<string, string> = { csrf: csrfFor(cookie, name) };
          for (const [k, v] of Object.entries(inputOf(action, who)))
            if (typeof v === 'string') fields[k] = v;
            else if (Array.isArray(v)) fields[k] = v.join('\n');
          const post = await form(app, `/admin/do/${name}`, fields, { cookie });
          if (may) {
            if (post.statusCode === 403) problems.push(`POST ${name}: 403 though allowed`);
            if (post.statusCode >= 500) problems.push(`POST ${name}: ${post.statusCode} ${post.body.slice(0, 200)}`);
          } else {
            if (post.statusCode !== 403) problems.push(`POST ${name}: ${post.statusCode} though not allowed`);
            if ((await state()) !== was) problems.push(`POST ${name}: the refusal changed something`);
            // Recorded, the page's refusal and the post's (a person without a role too).
            if ((await failures(action, who)) !== recorded + 2)
              problems.push(`${name}: the console's refusals left no failure audit records`);
          }
        }
        assert.deepEqual(problems, []);
      });
    }

    it('console, no role: every action route, read or write, is refused and changes nothing', async () => {
      const cookie = await sessionOf('none');
      const was = await state();
      for (const action of ADMIN_ACTIONS) {
        const page = await app.server.inject({ url: `/admin/do/${action.name}?go=1`, headers: { cookie } });
        assert.equal(page.statusCode, 403, `GET ${action.name}`);
        if (action.http?.method === 'GET') continue;
        const post = await form(
          app,
          `/admin/do/${action.name}`,
          { csrf: csrfFor(cookie, action.name), ...(inputOf(action, 'none') as Record<string, string>) },
          { cookie },
        );
        assert.equal(post.statusCode, 403, `POST ${action.name}`);
      }
      assert.equal(await state(), was);
    });
  });
}
