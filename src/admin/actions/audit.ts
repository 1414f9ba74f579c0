// The audit trail: a filtered list, newest first, a page at a time; the export (CSV, JSON Lines or
// JSON, oldest first) sent as it is; the check of the hash chain. admin/audit.ts formats the records
// as the CLI's `tessera audit list` does.
import { z } from 'zod';
import type { AuditQuery } from '../../ports/audit.ts';
import { defineAction, decodeCursor, encodeCursor, pageInput, type PageResult } from '../action.ts';
import { describeAuditRecord, formatAudit } from '../audit.ts';

const time = (what: string) =>
  z
    .string()
    .max(40)
    .refine((v) => !Number.isNaN(Date.parse(v)), {
      message: `${what} must be an ISO 8601 time, e.g. 2025-01-31 or 2025-01-31T12:00:00Z`,
    })
    .optional();

/** The filters of both the list and the export. */
const filters = {
  from: time('from').describe('records at or after this time'),
  to: time('to').describe('records before this time'),
  type: z.string().min(1).max(100).optional(),
  actor: z.string().min(1).max(255).optional(),
  client_id: z.string().min(1).max(2048).optional(),
  user_id: z.string().min(1).max(255).optional().describe('records by or about this user'),
  outcome: z.enum(['success', 'failure']).optional(),
};

type Filters = { [K in keyof typeof filters]?: string };

function queryOf(f: Filters): AuditQuery {
  return {
    ...(f.from !== undefined ? { from: Date.parse(f.from) } : {}),
    ...(f.to !== undefined ? { to: Date.parse(f.to) } : {}),
    ...(f.type !== undefined ? { type: f.type } : {}),
    ...(f.actor !== undefined ? { actor: f.actor } : {}),
    ...(f.client_id !== undefined ? { clientId: f.client_id } : {}),
    ...(f.user_id !== undefined ? { userId: f.user_id } : {}),
    ...(f.outcome !== undefined ? { outcome: f.outcome as AuditQuery['outcome'] } : {}),
  };
}

/** The facts of the filters for the audit record of a read (never more than their values). */
const filterDetails = (f: Filters) =>
  Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)) as Record<string, string>;

const { search: _search, ...paging } = pageInput;

/** The most records one export holds (one transaction, one answer in memory). */
const EXPORT_LIMIT = 100_000;

export const auditActions = [
  defineAction({
    name: 'audit.list',
    summary:
      'Audit records, newest first, filtered by time, type, actor, client, user and outcome; next_cursor pages to older ones.',
    permission: 'admin:audit:read',
    event: 'admin_audit_listed',
    input: z
      .object({
        ...paging,
        cursor: paging.cursor.refine((c) => c === undefined || /^[1-9]\d{0,15}$/.test(decodeCursor(c) ?? ''), {
          message: 'cursor is not one this list gave',
        }),
        ...filters,
      })
      .strict(),
    http: { method: 'GET', path: '/audit' },
    async run(ctx, input) {
      const { cursor, limit, ...f } = input;
      const records = await ctx.stores.audit.query({
        ...queryOf(f),
        ...(cursor !== undefined ? { beforeSeq: Number(decodeCursor(cursor)) } : {}),
        descending: true,
        limit: limit + 1,
      });
      const items = records.slice(0, limit);
      const result: PageResult<ReturnType<typeof describeAuditRecord>> = { items: items.map(describeAuditRecord) };
      if (records.length > limit) result.next_cursor = encodeCursor(String(items[items.length - 1]!.seq));
      return { result, details: { ...filterDetails(f), count: items.length } };
    },
  }),
  defineAction({
    name: 'audit.export',
    summary:
      'The audit records matching the filters, oldest first, as CSV (RFC 4180, cells a spreadsheet would run as formulas neutralised), JSON Lines or JSON.',
    permission: 'admin:audit:export',
    event: 'audit_exported',
    input: z
      .object({
        format: z.enum(['csv', 'jsonl', 'json']).default('jsonl'),
        limit: z.coerce
          .number()
          .int()
          .min(1)
          .max(EXPORT_LIMIT)
          .default(EXPORT_LIMIT)
          .describe('at most this many records, oldest first (a longer trail is exported in parts by from/to)'),
        ...filters,
      })
      .strict(),
    http: { method: 'GET', path: '/audit/export' },
    async run(ctx, input) {
      const { format, limit, ...f } = input;
      const records = await ctx.stores.audit.query({ ...queryOf(f), limit });
      return {
        result: formatAudit(records, format),
        details: { ...filterDetails(f), format, count: records.length },
      };
    },
  }),
  defineAction({
    name: 'audit.verify',
    summary: 'Checks the hash chain of the audit trail and names the first broken record, if any.',
    permission: 'admin:audit:read',
    event: 'audit_verified',
    input: z.object({}).strict(),
    http: { method: 'GET', path: '/audit/verify' },
    async run(ctx) {
      const r = await ctx.stores.audit.verify();
      return {
        result: r.ok
          ? { ok: true, checked: r.checked }
          : { ok: false, checked: r.checked, first_broken: r.firstBroken, reason: r.reason },
        details: { ok: r.ok, checked: r.checked, first_broken: r.ok ? null : r.firstBroken },
      };
    },
  }),
];
