import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClientRecord } from '../../ports/clients.ts';
import type { Provider } from '../provider.ts';
import { markFirstUse, unusedRegistrationExpired } from './usage.ts';

const registration = { registration: { access_token_hash: 'h', mode: 'open' as const } };
const at = (ttl: number, now: number) => ({ config: { registrationUnusedTtl: ttl }, now: () => now });

describe('unused registrations', () => {
  it('expire once the TTL has passed since the last change, unused and self-registered only', () => {
    const c = { updatedAt: 1000, metadata: registration };
    assert.equal(unusedRegistrationExpired(at(600, 1599), c), false);
    assert.equal(unusedRegistrationExpired(at(600, 1600), c), true);
    assert.equal(unusedRegistrationExpired(at(0, 10_000_000), c), false, '0: never');
    assert.equal(unusedRegistrationExpired(at(600, 1600), { ...c, firstUsedAt: 1001 }), false);
    assert.equal(unusedRegistrationExpired(at(600, 1600), { ...c, metadata: {} }), false, 'operator-made');
  });

  it('the first token of a self-registered client is marked, once; nothing is awaited otherwise', async () => {
    const marks: [string, number][] = [];
    const warnings: object[] = [];
    let fail = false;
    const p = {
      now: () => 77,
      log: { warn: (o: object) => warnings.push(o) },
      stores: {
        clients: {
          markUsed: async (id: string, t: number) => {
            if (fail) throw new Error('database down');
            marks.push([id, t]);
            return true;
          },
        },
      },
    } as unknown as Pick<Provider, 'now' | 'log' | 'stores'>;
    const client = (over: Partial<ClientRecord>) => ({ clientId: 'c', metadata: registration, ...over });
    assert.equal(markFirstUse(p, client({ firstUsedAt: 5 })), undefined);
    assert.equal(markFirstUse(p, client({ metadata: {} })), undefined);
    await markFirstUse(p, client({}));
    assert.deepEqual(marks, [['c', 77]]);
    // A failing store costs a warning, not the token.
    fail = true;
    await markFirstUse(p, client({}));
    assert.equal(warnings.length, 1);
  });
});
