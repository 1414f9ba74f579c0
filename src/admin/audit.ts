// The audit-trail export and check, as the CLI (`tessera audit list|verify`) and the admin API
// (admin/actions/audit.ts: GET /admin/api/v1/audit, /audit/export, /audit/verify) both use them.
import type { AuditQuery, AuditRecord } from '../ports/audit.ts';
import type { Stores } from '../ports/index.ts';
import { AdminError } from './errors.ts';

export type AuditFormat = 'json' | 'jsonl' | 'csv';

/** Options as given (CLI flags or query parameters); `name` shows how to call an option in messages. */
export interface AuditOptions {
  from?: string;
  to?: string;
  type?: string;
  limit?: string;
  format?: string;
}

/** A mistake in the export options (the CLI shows its usage; the admin API answers 400). */
export class AuditInputError extends AdminError {}

const COLUMNS = ['seq', 'at', 'type', 'actor', 'client_id', 'ip', 'outcome', 'details', 'prev_hash', 'hash'] as const;

/** Checks and converts the options; `name` renders an option's name for messages (`--from`, `from`). */
export function parseAuditOptions(
  o: AuditOptions,
  name: (option: string) => string,
): { query: AuditQuery; format: AuditFormat } {
  const format = o.format ?? 'json';
  if (format !== 'json' && format !== 'jsonl' && format !== 'csv')
    throw new AuditInputError(`${name('format')} must be json or csv (or jsonl: JSON Lines)`);
  const limit = o.limit === undefined ? undefined : Number(o.limit);
  if (limit !== undefined && (!/^\d+$/.test(o.limit!) || !Number.isSafeInteger(limit) || limit < 1))
    throw new AuditInputError(`${name('limit')} must be a positive integer`);
  const time = (option: 'from' | 'to') => {
    const v = o[option];
    if (v === undefined) return undefined;
    const ms = Date.parse(v);
    if (Number.isNaN(ms))
      throw new AuditInputError(`${name(option)} must be an ISO 8601 time, e.g. 2025-01-31 or 2025-01-31T12:00:00Z`);
    return ms;
  };
  return { query: { from: time('from'), to: time('to'), type: o.type, limit }, format };
}

/** A record as the CLI and the admin API show it (snake_case, ISO time). */
export const describeAuditRecord = (r: AuditRecord) => ({
  seq: r.seq,
  at: new Date(r.at).toISOString(),
  type: r.type,
  actor: r.actor,
  client_id: r.clientId,
  ip: r.ip,
  outcome: r.outcome,
  details: r.details,
  prev_hash: r.prevHash,
  hash: r.hash,
});

/**
 * One RFC 4180 field: quoted (quotes doubled) when it holds a comma, quote or line break. A value
 * a spreadsheet would read as a formula (OWASP CSV injection: starting with =, +, -, @, tab or
 * carriage return) is prefixed with an apostrophe and quoted, so it opens as text.
 */
export const csvField = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (/^[=+\-@\t\r]/.test(s)) return `"'${s.replace(/"/g, '""')}"`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/**
 * The records (oldest first) as JSON, as JSON Lines (one record a line), or as CSV per RFC 4180 with
 * a header row and CRLF line ends.
 */
export function formatAudit(
  records: readonly AuditRecord[],
  format: AuditFormat,
): { contentType: string; body: string } {
  if (format === 'json')
    return {
      contentType: 'application/json; charset=utf-8',
      body: `${JSON.stringify(records.map(describeAuditRecord), null, 2)}\n`,
    };
  if (format === 'jsonl')
    return {
      contentType: 'application/jsonl; charset=utf-8',
      body: records.map((r) => `${JSON.stringify(describeAuditRecord(r))}\n`).join(''),
    };
  const rows = records.map((r) => {
    const j = describeAuditRecord(r);
    return COLUMNS.map((c) => csvField(j[c])).join(',');
  });
  return {
    contentType: 'text/csv; charset=utf-8; header=present',
    body: [COLUMNS.join(','), ...rows].map((line) => `${line}\r\n`).join(''),
  };
}

/**
 * Queries and formats: the export of `tessera audit list` and the audit.export admin action (GET
 * /admin/api/v1/audit/export).
 */
export async function exportAudit(
  stores: Stores,
  options: AuditOptions,
  name: (option: string) => string,
): Promise<{ contentType: string; body: string; count: number; format: AuditFormat }> {
  const { query, format } = parseAuditOptions(options, name);
  const records = await stores.audit.query(query);
  return { ...formatAudit(records, format), count: records.length, format };
}
