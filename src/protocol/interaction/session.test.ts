import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fakeClock, testProvider } from '../../../test/fixtures/protocol.ts';
import { touchSession } from './session.ts';

/** A session in the real store, last seen at `at`, and a way to read its lastSeenAt back. */
async function sessionAt(idleTtl: string) {
  const clock = fakeClock(1_800_000_000);
  const { p } = await testProvider({ TESSERA_SESSION_IDLE_TTL: idleTtl }, { clock });
  const now = clock.now();
  const user = {
    id: `user-${idleTtl}`,
    username: `u${idleTtl}`,
    passwordHash: null,
    email: null,
    emailVerified: false,
    name: null,
    givenName: null,
    familyName: null,
    disabled: false,
    createdAt: now,
    updatedAt: now,
  };
  assert.ok(await p.stores.users.create(user));
  const session = {
    idHash: `h-${idleTtl}`,
    sid: `s-${idleTtl}`,
    userId: user.id,
    authTime: now,
    amr: ['pwd'],
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + 86400,
  };
  await p.stores.sessions.create(session);
  const lastSeen = async () => (await p.stores.sessions.get(session.idHash))!.lastSeenAt;
  return { p, clock, lastSeen, now };
}

describe('touchSession (the idle timeout of a session in use)', () => {
  it('writes the session at most once a minute', async () => {
    const { p, clock, lastSeen, now } = await sessionAt('3600');
    clock.advance(59);
    await touchSession(p, (await p.stores.sessions.get('h-3600'))!);
    assert.equal(await lastSeen(), now, 'used again within the minute: not written');
    clock.advance(1);
    await touchSession(p, (await p.stores.sessions.get('h-3600'))!);
    assert.equal(await lastSeen(), now + 60, 'a minute on: written');
  });

  it('with a short idle timeout, at most a tenth of it late', async () => {
    const { p, clock, lastSeen, now } = await sessionAt('60');
    clock.advance(5);
    await touchSession(p, (await p.stores.sessions.get('h-60'))!);
    assert.equal(await lastSeen(), now);
    clock.advance(1);
    await touchSession(p, (await p.stores.sessions.get('h-60'))!);
    assert.equal(await lastSeen(), now + 6);
  });
});
