import { hash } from 'node:crypto';
import type { AuditEvent } from '../../ports/audit.ts';

/** prevHash of the first record ever appended. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * JSON of the details with their keys sorted, so that the same details always hash the same. It is
 * also what the details column stores, so an append serialises them once. (A few keys: sorted in
 * place, without the work array Array.prototype.sort allocates.)
 */
export function canonicalDetails(details: AuditEvent['details']): string {
  const keys = Object.keys(details);
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > k) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = k;
  }
  let out = '{';
  for (let i = 0; i < keys.length; i++)
    out += `${i ? ',' : ''}${JSON.stringify(keys[i])}:${JSON.stringify(details[keys[i]!])}`;
  return `${out}}`;
}

/**
 * SHA-256 hex of prevHash + '\n' + the canonical JSON of [seq, at, type, actor, clientId, ip, outcome, details].
 * `details`: canonicalDetails(e.details), when the caller has it already.
 */
export function chainHash(prevHash: string, seq: number, e: AuditEvent, details = canonicalDetails(e.details)): string {
  // The fields are numbers, strings and nulls (normalizeEvent), which JSON.stringify writes in an
  // array exactly as one by one; the array's closing bracket makes room for the details.
  const fields = JSON.stringify([seq, e.at, e.type, e.actor, e.clientId, e.ip, e.outcome]);
  return hash('sha256', `${prevHash}\n${fields.slice(0, -1)},${details}]`, 'hex');
}

const flat = (v: unknown) =>
  v === null ||
  typeof v === 'string' ||
  typeof v === 'boolean' ||
  (typeof v === 'number' && Number.isFinite(v) && !Object.is(v, -0));

/** The event as it reads back from storage: details through JSON (undefined dropped), a whole-millisecond time. */
export function normalizeEvent(e: AuditEvent): AuditEvent {
  const d = e.details ?? {};
  let details: AuditEvent['details'];
  // Details of strings, finite numbers, booleans and nulls come back from JSON as they are (less
  // any undefined); anything else takes the round trip.
  if (Object.values(d).every((v) => v === undefined || flat(v))) {
    details = {};
    for (const k of Object.keys(d)) if (d[k] !== undefined) details[k] = d[k]!;
  } else {
    details = JSON.parse(JSON.stringify(d));
  }
  return {
    at: Math.trunc(e.at),
    type: e.type,
    actor: e.actor ?? null,
    clientId: e.clientId ?? null,
    ip: e.ip ?? null,
    outcome: e.outcome,
    details,
  };
}
