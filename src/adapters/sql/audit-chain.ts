import { hash } from 'node:crypto';
import type { AuditEvent } from '../../ports/audit.ts';

/** prevHash of the first record ever appended. */
export const GENESIS_HASH = '0'.repeat(64);

/** JSON of an object with its keys sorted, so that the same details always hash the same. */
function sortedJson(details: AuditEvent['details']): string {
  return `{${Object.keys(details).sort().map((k) => `${JSON.stringify(k)}:${JSON.stringify(details[k])}`).join(',')}}`;
}

/** SHA-256 hex of prevHash + '\n' + the canonical JSON of [seq, at, type, actor, clientId, ip, outcome, details]. */
export function chainHash(prevHash: string, seq: number, e: AuditEvent): string {
  const canonical = `[${[seq, e.at, e.type, e.actor, e.clientId, e.ip, e.outcome].map((v) => JSON.stringify(v)).join(',')},${sortedJson(e.details)}]`;
  return hash('sha256', `${prevHash}\n${canonical}`, 'hex');
}

/** The event as it reads back from storage: details through JSON (undefined dropped), a whole-millisecond time. */
export function normalizeEvent(e: AuditEvent): AuditEvent {
  return {
    at: Math.trunc(e.at), type: e.type, actor: e.actor ?? null, clientId: e.clientId ?? null, ip: e.ip ?? null, outcome: e.outcome,
    details: JSON.parse(JSON.stringify(e.details ?? {})),
  };
}
