// The dashboard summary: counts from the database (users, clients, live sessions, active grants),
// per-minute figures of the last hours summed over every instance (stores.stats, written by each
// instance), the signing keys' states and ages, the health of the database and Redis (probed in
// `prepare`, before the transaction), and the latest security events of the audit trail: in full
// for a principal who may read the audit trail (admin:audit:read), else only their type, time and
// outcome (no actor, address or details: attempted usernames, before/after states).
import { z } from 'zod';
import { defineAction } from '../action.ts';
import { describeAuditRecord } from '../audit.ts';
import { describeKeys } from '../keys.ts';
import type { AuditRecord } from '../../ports/audit.ts';

/** The per-minute figures the dashboard charts (names of stores.stats). */
export const DASHBOARD_FIGURES = ['tokens_issued', 'sign_ins_ok', 'sign_ins_failed'] as const;

/** The permission to read the audit trail in full (audit.list's). */
const AUDIT_READ = 'admin:audit:read';

/** A security event as the dashboard shows it to a principal who may not read the audit trail. */
const eventSummary = (r: AuditRecord) => ({ type: r.type, at: new Date(r.at).toISOString(), outcome: r.outcome });

/** Audit types the dashboard lists as security events. */
export const SECURITY_EVENTS = [
  'login_failed',
  'login_throttled',
  'passkey_login_failed',
  'second_factor_failed',
  'second_factor_throttled',
  'client_auth_failed',
  'code_reuse',
  'refresh_reuse',
  'dpop_replay',
  'certificate_binding_refused',
  'password_reset_failed',
  'upstream_login_failed',
  'registration_refused',
  'token_exchange_refused',
  'fapi_refused',
  'client_secret_rotated',
  'client_disabled',
  'key_rotated',
  'key_retired',
  'mfa_reset',
] as const;

export const dashboardActions = [
  defineAction({
    name: 'dashboard.read',
    summary:
      'Users, clients, live sessions and active grants; tokens issued and sign-ins ok/failed per minute over the last hours (all instances); key states and ages; health of the database and Redis; recent security events.',
    permission: 'admin:dashboard:read',
    event: 'admin_dashboard_read',
    input: z.object({ hours: z.coerce.number().int().min(1).max(48).default(6) }).strict(),
    http: { method: 'GET', path: '/dashboard' },
    prepare: async (p) => (p.health ? await p.health() : {}),
    async run(ctx, input) {
      const { stores, now } = ctx;
      const to = Math.floor(now / 60) * 60 + 60;
      const from = to - input.hours * 3600;
      // One after the other: the statements share the action's transaction (one connection).
      const users = await stores.users.count();
      const clients = (await stores.clients.list()).length;
      const sessions = await stores.sessions.countLive(now);
      const grants = await stores.grants.countActive(now);
      const minutes = await stores.stats.range(from, to);
      const keys = await stores.keys.list();
      const events = await stores.audit.query({ types: SECURITY_EVENTS, limit: 20, descending: true });
      const totals = Object.fromEntries(DASHBOARD_FIGURES.map((n) => [n, 0])) as Record<string, number>;
      const series = minutes.map((m) => {
        const row: Record<string, string | number> = { minute: new Date(m.minute * 1000).toISOString() };
        for (const n of DASHBOARD_FIGURES) {
          row[n] = m.values[n] ?? 0;
          totals[n]! += m.values[n] ?? 0;
        }
        return row;
      });
      return {
        result: {
          at: new Date(now * 1000).toISOString(),
          counts: { users, clients, live_sessions: sessions, active_grants: grants },
          activity: {
            from: new Date(from * 1000).toISOString(),
            to: new Date(to * 1000).toISOString(),
            totals,
            per_minute: series,
          },
          keys: describeKeys(keys, ctx.p.config, now).filter((k) => k.state !== 'retired'),
          health: (ctx.prepared ?? {}) as Record<string, string>,
          security_events: [...events]
            .sort((a, b) => b.seq - a.seq)
            .map(ctx.actor.scopes.has(AUDIT_READ) ? describeAuditRecord : eventSummary),
        },
      };
    },
  }),
];
