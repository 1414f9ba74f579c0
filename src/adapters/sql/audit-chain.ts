import { hash } from 'node:crypto';
import type { AuditEvent } from '../../ports/audit.ts';

/** prevHash of the first record ever appended. */
export const GENESIS_HASH = '0'.repeat(64);

/** JSON of an object with its keys sorted, so that the same details always hash the same. */
function sortedJson(details: AuditEvent['details']): string {
  const keys = Object.keys(details);
  if (keys.length > 1) keys.sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) out += `${i ? ',' : ''}${JSON.stringify(keys[i])}:${JSON.stringify(details[keys[i]!])}`;
  return `${out}}`;
}

/** SHA-256 hex of prevHash + '\n' + the canonical JSON of [seq, at, type, actor, clientId, ip, outcome, details]. */
export function chainHash(prevHash: string, seq: number, e: AuditEvent): string {
  // The fields are numbers, strings and nulls (normalizeEvent), which JSON.stringify writes in an
  // array exactly as one by one; the array's closing bracket makes room for the details.
  const fields = JSON.stringify([seq, e.at, e.type, e.actor, e.clientId, e.ip, e.outcome]);
  return hash('sha256', `${prevHash}\n${fields.slice(0, -1)},${sortedJson(e.details)}]`, 'hex');
}

/** The event as it reads back from storage: details through JSON (undefined dropped), a whole-millisecond time. */
export function normalizeEvent(e: AuditEvent): AuditEvent {
  return {
    at: Math.trunc(e.at), type: e.type, actor: e.actor ?? null, clientId: e.clientId ?? null, ip: e.ip ?? null, outcome: e.outcome,
    details: JSON.parse(JSON.stringify(e.details ?? {})),
  };
}
