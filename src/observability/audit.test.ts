import assert from 'node:assert/strict';
import { it } from 'node:test';
import { pino } from 'pino';
import type { AuditEvent, AuditStore } from '../ports/audit.ts';
import { createAuditLog } from './audit.ts';

function memoryStore(): AuditStore & { rows: AuditEvent[] } {
  const rows: AuditEvent[] = [];
  return {
    rows,
    async append(e) {
      rows.push(...e);
    },
    async query() {
      return [];
    },
    async verify() {
      return { ok: true, checked: 0 };
    },
    async deleteBefore() {
      return 0;
    },
  };
}

const failure = (ip: string, details: AuditEvent['details'] = { reason: 'x' }): AuditEvent => ({
  at: Date.now(),
  type: 'client_auth_failed',
  actor: null,
  clientId: null,
  ip,
  outcome: 'failure',
  details,
});

it('writes the first failure of a kind at once and the repeats as one counted record when the window ends', async () => {
  const store = memoryStore();
  const log = createAuditLog(store, pino({ level: 'silent' }), { flushMs: 5, aggregateMs: 100 });
  for (let i = 0; i < 50; i++) log.record(failure('192.0.2.1', { reason: 'x', unknown_client: `h${i}` }));
  log.record({ ...failure('192.0.2.1'), outcome: 'success', type: 'token_issued' });
  await new Promise((r) => setTimeout(r, 40));
  assert.deepEqual(
    store.rows.map((r) => r.type),
    ['client_auth_failed', 'token_issued'],
    'successes are never folded',
  );
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(store.rows.length, 3);
  assert.deepEqual(store.rows[2]!.details, { reason: 'x', unknown_client: 'h0', repeated: 49 });
  await log.close();
});

it('bounds the kinds per window and stores no source that is not an IP address', async () => {
  const store = memoryStore();
  const log = createAuditLog(store, pino({ level: 'silent' }), { maxAggregates: 10 });
  // The non-address first: it is one of the 10 kinds tracked, so its stored source is auditIp's doing, not the
  // overflow's.
  log.record(failure('<script>not an address</script>'));
  for (let i = 0; i < 100; i++) log.record(failure(`198.51.100.${i}`));
  await log.flush();
  assert.equal(store.rows.length, 10 + 1 + 1);
  assert.ok(store.rows.every((r) => r.ip === null || /^198\.51\.100\.\d+$/.test(r.ip)));
  assert.deepEqual(store.rows.at(-1)!.details, { overflow: true, repeated: 90 });
  await log.close();
});

it('under steady load writes full batches (or what the timer finds), not a trickle of small ones', async () => {
  const batches: number[] = [];
  const store = memoryStore();
  // An append takes a while (a database round trip or four): events keep coming meanwhile.
  const slow: AuditStore = {
    ...store,
    async append(e) {
      batches.push(e.length);
      await new Promise((r) => setTimeout(r, 5));
      await store.append(e);
    },
  };
  const log = createAuditLog(slow, pino({ level: 'silent' }), { flushMs: 50, maxBatch: 20 });
  const event = (i: number): AuditEvent => ({
    ...failure('192.0.2.9'),
    outcome: 'success',
    type: 'token_issued',
    details: { i },
  });
  let n = 0;
  // 3 events a millisecond for 150 ms: full batches of 20 as they fill, never a trickle of small ones.
  const until = Date.now() + 150;
  while (Date.now() < until) {
    for (let i = 0; i < 3; i++) log.record(event(n++));
    await new Promise((r) => setTimeout(r, 1));
  }
  await log.close();
  assert.deepEqual(
    store.rows.map((r) => r.details.i),
    Array.from({ length: n }, (_, i) => i),
  );
  // Every batch but the ones the timer or close wrote is full.
  assert.ok(batches.filter((b) => b < 20).length <= 2 + Math.ceil(150 / 50), JSON.stringify(batches));
});

it('writes everything at close even when a drop left fewer events than it meant to write', async () => {
  const store = memoryStore();
  const log = createAuditLog(store, pino({ level: 'silent' }), { flushMs: 5, maxBatch: 4, maxBuffer: 6 });
  for (let i = 0; i < 10; i++) log.record({ ...failure('192.0.2.9'), outcome: 'success', details: { i } });
  await log.close();
  assert.deepEqual(
    store.rows.map((r) => r.details.i),
    [4, 5, 6, 7, 8, 9],
  );
});
