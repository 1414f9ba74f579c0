// The refresh-token reuse grace (TESSERA_REFRESH_REUSE_GRACE): the sealing of the kept response,
// the binding, and the refresh_token grant with it, through token() on a fresh provider per case
// (test/fixtures/protocol.ts, with its clock). The store's side: test/contract/grants-contract.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compactDecrypt, decodeJwt, decodeProtectedHeader } from 'jose';
import { testProvider, type Outcome, type TestProvider } from '../../../test/fixtures/protocol.ts';
import { token } from '../endpoints/token.ts';
import { graceBinding, openSuccessor, replayedResponse, sealSuccessor } from './refresh-grace.ts';
import type { TokenResponse } from './grant.ts';

const KEK = 'k'.repeat(40);
const OLD_KEK = 'o'.repeat(40);
const RESPONSE: TokenResponse = {
  access_token: 'eyJ.access.token',
  token_type: 'DPoP',
  expires_in: 300,
  scope: 'openid profile',
  refresh_token: 'successor-refresh-token-value',
  id_token: 'eyJ.id.token',
};

describe('sealing the successor response', () => {
  it('is a compact JWE (dir, A256GCM) that holds no token in clear and opens only with the KEK and the presented token', async () => {
    const sealed = sealSuccessor(KEK, 'presented-token', RESPONSE);
    assert.deepEqual(decodeProtectedHeader(sealed), { alg: 'dir', enc: 'A256GCM' });
    for (const value of [RESPONSE.access_token, RESPONSE.refresh_token!, RESPONSE.id_token!, 'presented-token'])
      assert.equal(sealed.includes(value), false);
    assert.deepEqual(await openSuccessor([KEK], 'presented-token', sealed), RESPONSE);
    // During a KEK rotation the previous key still opens what it sealed.
    assert.deepEqual(
      await openSuccessor([KEK, OLD_KEK], 'presented-token', sealSuccessor(OLD_KEK, 'presented-token', RESPONSE)),
      RESPONSE,
    );
    assert.equal(await openSuccessor([OLD_KEK], 'presented-token', sealed), undefined);
    assert.equal(await openSuccessor([KEK], 'another-token', sealed), undefined);
    // A fresh IV each time, and any change to the text is refused.
    assert.notEqual(sealSuccessor(KEK, 'presented-token', RESPONSE), sealed);
    const parts = sealed.split('.');
    const flipped = Buffer.from(parts[3]!, 'base64url');
    flipped[0]! ^= 1;
    parts[3] = flipped.toString('base64url');
    assert.equal(await openSuccessor([KEK], 'presented-token', parts.join('.')), undefined);
    assert.equal(await openSuccessor([KEK], 'presented-token', 'not a jwe'), undefined);
  });
  it('is a standard JWE: jose opens it with the derived key only (the header is authenticated)', async () => {
    const sealed = sealSuccessor(KEK, 'presented-token', RESPONSE);
    const [, ...rest] = sealed.split('.');
    const otherHeader = Buffer.from(JSON.stringify({ enc: 'A256GCM', alg: 'dir' })).toString('base64url');
    assert.equal(await openSuccessor([KEK], 'presented-token', [otherHeader, ...rest].join('.')), undefined);
    await assert.rejects(compactDecrypt(sealed, new Uint8Array(32)));
  });
  it('a replay counts expires_in from now', () => {
    assert.equal(replayedResponse(RESPONSE, 100, 112).expires_in, 288);
    assert.equal(replayedResponse(RESPONSE, 100, 1000).expires_in, 0);
    assert.equal(replayedResponse(RESPONSE, 100, 100).refresh_token, RESPONSE.refresh_token);
  });
});

describe('the grace binding', () => {
  it('differs with the client, the DPoP key, the certificate and each parameter; equal for the same presentation', () => {
    const base = {
      clientId: 'spa',
      dpopJkt: 'jkt',
      certThumbprint: undefined,
      scope: undefined,
      resource: undefined,
      authorizationDetails: undefined,
    };
    const variants = [
      base,
      { ...base, clientId: 'spa2' },
      { ...base, dpopJkt: undefined },
      { ...base, dpopJkt: 'jkt2' },
      { ...base, certThumbprint: 'x5t' },
      { ...base, scope: 'openid' },
      { ...base, resource: 'https://api.example/' },
      { ...base, authorizationDetails: '[]' },
    ];
    const bindings = variants.map(graceBinding);
    assert.equal(new Set(bindings).size, variants.length);
    assert.equal(graceBinding({ ...base }), bindings[0]);
    assert.match(bindings[0]!, /^[A-Za-z0-9_-]{43}$/);
  });
});

describe('the refresh_token grant with the reuse grace', () => {
  const bodyOf = (o: Outcome): Record<string, unknown> => {
    assert.equal(o.error, undefined, o.error && o.description);
    return (o as { body: Record<string, unknown> }).body;
  };
  /** A provider with the public clients spa and spa2 (and web, confidential), and spa's first tokens. */
  const start = async (grace: number | undefined) => {
    const t = await testProvider(grace === undefined ? {} : { TESSERA_REFRESH_REUSE_GRACE: String(grace) });
    await t.addClient({ client_id: 'spa' });
    await t.addClient({ client_id: 'spa2' });
    const c = await t.codeFor('spa');
    const first = bodyOf(
      await t.token(
        { grant_type: 'authorization_code', code: c.code, code_verifier: c.verifier, redirect_uri: c.redirectUri },
        { clientId: 'spa' },
      ),
    );
    return { t, refreshToken: first.refresh_token as string };
  };
  const refresh = (t: TestProvider, token: string, clientId = 'spa', extra: Record<string, string> = {}) =>
    t.token({ grant_type: 'refresh_token', refresh_token: token, ...extra }, { clientId });
  const reuseRevoked = async (t: TestProvider, o: Outcome, successor: string) => {
    assert.equal(o.error, 'invalid_grant');
    assert.ok(t.events.some((e) => e.type === 'refresh_reuse'));
    assert.equal((await refresh(t, successor)).error, 'invalid_grant', 'the family is revoked');
  };

  it('the same client presenting the rotated token again within the window gets the same successor; no token value in events or logs', async () => {
    const { t, refreshToken } = await start(30);
    try {
      const first = bodyOf(await refresh(t, refreshToken));
      t.clock.advance(10);
      const again = bodyOf(await refresh(t, refreshToken));
      assert.equal(again.refresh_token, first.refresh_token);
      assert.equal(again.access_token, first.access_token);
      assert.equal(again.id_token, first.id_token);
      assert.equal(again.scope, first.scope);
      assert.equal(again.expires_in, (first.expires_in as number) - 10);
      const grace = t.events.filter((e) => e.type === 'refresh_grace');
      assert.deepEqual(grace, [{ type: 'refresh_grace', clientId: 'spa', ip: '192.0.2.1' }]);
      assert.equal(
        t.events.some((e) => e.type === 'refresh_reuse'),
        false,
      );
      const said = JSON.stringify([t.events, t.logs]);
      for (const value of [refreshToken, first.refresh_token, first.access_token] as string[])
        assert.equal(said.includes(value), false);
      // The family lives on: the successor rotates, once.
      const onwards = bodyOf(await refresh(t, first.refresh_token as string));
      assert.notEqual(onwards.refresh_token, first.refresh_token);
      // The token before it is no longer answered, although still within its window: reuse.
      await reuseRevoked(t, await refresh(t, refreshToken), onwards.refresh_token as string);
    } finally {
      await t.close();
    }
  });
  it('after the window: reuse revokes the family', async () => {
    const { t, refreshToken } = await start(30);
    try {
      const first = bodyOf(await refresh(t, refreshToken));
      t.clock.advance(30);
      await reuseRevoked(t, await refresh(t, refreshToken), first.refresh_token as string);
    } finally {
      await t.close();
    }
  });
  it('another client, or the same client asking for something else, within the window: reuse revokes the family', async () => {
    for (const [clientId, extra] of [
      ['spa2', {}],
      ['spa', { scope: 'openid' }],
    ] as const) {
      const { t, refreshToken } = await start(30);
      try {
        const first = bodyOf(await refresh(t, refreshToken));
        t.clock.advance(1);
        await reuseRevoked(t, await refresh(t, refreshToken, clientId, extra), first.refresh_token as string);
      } finally {
        await t.close();
      }
    }
  });
  it('off (the default): a second presentation revokes the family at once, as always', async () => {
    const { t, refreshToken } = await start(undefined);
    try {
      assert.equal(t.config.refreshReuseGrace, 0);
      const first = bodyOf(await refresh(t, refreshToken));
      await reuseRevoked(t, await refresh(t, refreshToken), first.refresh_token as string);
      assert.equal(
        t.events.some((e) => e.type === 'refresh_grace'),
        false,
      );
    } finally {
      await t.close();
    }
  });
  it('a kept answer that no configured KEK opens (the KEK replaced within the window): the family is revoked', async () => {
    const { t, refreshToken } = await start(30);
    try {
      const first = bodyOf(await refresh(t, refreshToken));
      const replaced = { ...t.p, config: { ...t.config, keyEncryptionKey: 'n'.repeat(40) } };
      const params = { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'spa' };
      const o = await t.outcome(() => token(replaced, t.request(params)));
      assert.equal(o.error, 'invalid_grant');
      assert.ok(
        t.logs.some((l) => l.level === 'error' && (l.obj as { event?: string }).event === 'refresh_grace_unreadable'),
      );
      assert.equal((await refresh(t, first.refresh_token as string)).error, 'invalid_grant', 'the family is revoked');
      // With the previous KEK still configured, it would have opened.
      const { t: t2, refreshToken: rt2 } = await start(30);
      try {
        bodyOf(await refresh(t2, rt2));
        const rotatedKek = {
          ...t2.p,
          config: {
            ...t2.config,
            keyEncryptionKey: 'n'.repeat(40),
            keyEncryptionKeyPrevious: t2.config.keyEncryptionKey,
          },
        };
        const again = await t2.outcome(() => token(rotatedKek, t2.request({ ...params, refresh_token: rt2 })));
        assert.equal(again.error, undefined, again.error && again.description);
      } finally {
        await t2.close();
      }
    } finally {
      await t.close();
    }
  });
  it('the access token replayed is the one minted once: its jti and claims are those of the first answer', async () => {
    const { t, refreshToken } = await start(5);
    try {
      const first = bodyOf(await refresh(t, refreshToken));
      const again = bodyOf(await refresh(t, refreshToken));
      assert.deepEqual(decodeJwt(again.access_token as string), decodeJwt(first.access_token as string));
    } finally {
      await t.close();
    }
  });
});
