import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { AuditEvent } from '../../ports/audit.ts';
import { GENESIS_HASH, canonicalDetails, chainHash, normalizeEvent } from './audit-chain.ts';

const EVENTS: AuditEvent[] = [
  {
    at: 1796036853000,
    type: 'token_issued',
    actor: 'svc',
    clientId: 'svc',
    ip: '127.0.0.1',
    outcome: 'success',
    details: { scope: 'api:read', grant_type: 'client_credentials' },
  },
  { at: 1, type: 'login_failed', actor: null, clientId: null, ip: null, outcome: 'failure', details: {} },
  {
    at: 2,
    type: 'key_rotated',
    actor: 'system',
    clientId: null,
    ip: '::1',
    outcome: 'success',
    details: { z: [1, 'a', null], a: { nested: 'é"\\\u2028' }, m: 0.5, b: true } as never,
  },
];

/** The documented form, written out the long way: SHA-256 hex of prevHash, '\n', the canonical JSON array. */
function reference(prev: string, seq: number, e: AuditEvent): string {
  const details = Object.fromEntries(
    Object.keys(e.details)
      .sort()
      .map((k) => [k, e.details[k]]),
  );
  const canonical = JSON.stringify([seq, e.at, e.type, e.actor, e.clientId, e.ip, e.outcome, details]);
  return createHash('sha256').update(`${prev}\n${canonical}`).digest('hex');
}

describe('audit chain hash', () => {
  it('is the documented canonical form, unchanged: chains already stored keep verifying', () => {
    let prev = GENESIS_HASH;
    const hashes = EVENTS.map((e, i) => {
      const h = chainHash(prev, i + 1, e);
      assert.equal(h, reference(prev, i + 1, e));
      prev = h;
      return h;
    });
    // Computed by the implementation the first chains were written with.
    assert.deepEqual(hashes, [
      'd6b62bf4d1c2db08b667422582ea154475c510a0ab0fdc23099b2d85f030a938',
      'efe9013cc171e178bb8ff73e808dc6fa7856c6141602844ffc0dfe082bfc957c',
      'bcbaa8a13a02b6158948ba783701b40e867de9234e391708784bd94ddacdc341',
    ]);
  });

  it('changes with any field, the order of the records and the previous hash', () => {
    const base = chainHash(GENESIS_HASH, 1, EVENTS[0]!);
    assert.notEqual(chainHash(GENESIS_HASH, 2, EVENTS[0]!), base);
    assert.notEqual(chainHash('1'.repeat(64), 1, EVENTS[0]!), base);
    assert.notEqual(chainHash(GENESIS_HASH, 1, { ...EVENTS[0]!, ip: '127.0.0.2' }), base);
    assert.notEqual(
      chainHash(GENESIS_HASH, 1, { ...EVENTS[0]!, details: { scope: 'api:write', grant_type: 'client_credentials' } }),
      base,
    );
    // Key order in details does not matter (sorted).
    assert.equal(
      chainHash(GENESIS_HASH, 1, { ...EVENTS[0]!, details: { grant_type: 'client_credentials', scope: 'api:read' } }),
      base,
    );
  });

  it('canonical details: keys sorted, the JSON of each value', () => {
    const details = { z: 1, b: 'x', a: null, m: true, é: 'u', A: 2 } as AuditEvent['details'];
    const sorted = Object.fromEntries(
      Object.keys(details)
        .sort()
        .map((k) => [k, details[k]]),
    );
    assert.equal(canonicalDetails(details), JSON.stringify(sorted));
    assert.equal(canonicalDetails({}), '{}');
  });

  it('normalizing gives what the event reads back as: details through JSON, nulls for absent fields', () => {
    const cases: Record<string, unknown>[] = [
      { grant_type: 'client_credentials', scope: null },
      { reason: undefined, method: 'client_secret_basic' },
      { n: Number.NaN, inf: Number.POSITIVE_INFINITY, zero: -0, ok: 1.5 },
      { nested: { a: [1, undefined] } },
    ];
    for (const details of cases) {
      const e = normalizeEvent({
        at: 1.7,
        type: 't',
        actor: undefined as never,
        clientId: undefined as never,
        ip: undefined as never,
        outcome: 'success',
        details: details as never,
      });
      assert.deepEqual(e, {
        at: 1,
        type: 't',
        actor: null,
        clientId: null,
        ip: null,
        outcome: 'success',
        details: JSON.parse(JSON.stringify(details)),
      });
      assert.ok(!Object.is(e.details.zero, -0));
    }
  });
});
