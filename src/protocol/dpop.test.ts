import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { openStores } from '../app.ts';
import { loadConfig } from '../config/config.ts';
import type { Stores } from '../ports/index.ts';
import { OAuthError } from './errors.ts';
import {
  accessTokenHash,
  currentNonce,
  DPOP_ALGS,
  dpopChallenge,
  MAX_PROOF_LENGTH,
  NONCE_SLOT,
  verifyDpopProof,
} from './dpop.ts';
import type { ProtocolEvent } from './events.ts';
import type { Provider, ProtocolRequest } from './provider.ts';
import { protocolServices } from './services.ts';

const ISSUER = 'http://localhost:4999';
const HTU = `${ISSUER}/token`;
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('DPoP proof verification (RFC 9449)', () => {
  let stores: Stores;
  let close: () => Promise<void>;
  let clock = Math.floor(Date.now() / 1000);
  let events: ProtocolEvent[] = [];
  let key: { privateKey: CryptoKey; publicKey: CryptoKey };
  let jwk: JWK;

  const provider = (env: Record<string, string> = {}): Provider => ({
    config: loadConfig({
      TESSERA_ENV: 'development',
      TESSERA_ISSUER: ISSUER,
      DATABASE_URL: 'sqlite::memory:',
      TESSERA_SEED_DEMO: 'false',
      ...env,
    }),
    stores,
    keys: () => {
      throw new Error('no keys in this test');
    },
    now: () => clock,
    log: { info() {}, warn() {}, error() {} },
    events: (e) => events.push(e),
    ...protocolServices({ stores, now: () => clock }),
    mail: { send: async () => {} },
    // DPoP reaches no client's server.
    ...({} as Pick<Provider, 'outbound' | 'clientKeys' | 'logoutDelivery' | 'upstream'>),
  });
  let p: Provider;
  const request = (proof?: string | string[], method = 'POST'): ProtocolRequest => ({
    method,
    params: new URLSearchParams(),
    headers: proof === undefined ? {} : { dpop: proof },
    cookies: {},
    ip: '127.0.0.1',
  });
  let n = 0;
  async function proof(
    claims: Record<string, unknown> = {},
    header: Record<string, unknown> = {},
    signer: CryptoKey = key.privateKey,
    alg = 'ES256',
  ): Promise<string> {
    return new SignJWT({ jti: `jti-${++n}-${Math.random()}`, htm: 'POST', htu: HTU, iat: clock, ...claims })
      .setProtectedHeader({ typ: 'dpop+jwt', alg, jwk, ...header })
      .sign(signer);
  }
  async function refused(promise: Promise<unknown>, code: string, reason?: string): Promise<OAuthError> {
    // The promise may have refused (and reported) synchronously already: look at the last report.
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof OAuthError, `expected an OAuthError, got ${String(err)}`);
    assert.equal(err.code, code, err.description);
    if (reason)
      assert.equal(
        (events.filter((e) => e.type === 'dpop_proof_refused').at(-1) as { reason: string } | undefined)?.reason,
        reason,
      );
    events = [];
    return err;
  }

  before(async () => {
    const config = loadConfig({
      TESSERA_ENV: 'development',
      TESSERA_ISSUER: ISSUER,
      DATABASE_URL: 'sqlite::memory:',
      TESSERA_SEED_DEMO: 'false',
    });
    const opened = await openStores(config, { migrate: true });
    stores = opened.stores;
    close = () => opened.stores.close();
    key = await generateKeyPair('ES256');
    jwk = await exportJWK(key.publicKey);
    p = provider();
  });
  after(async () => {
    await close();
  });

  it('accepts a valid proof and returns the RFC 7638 thumbprint of its key', async () => {
    const result = await verifyDpopProof(p, request(await proof()), { htm: 'POST', htu: HTU });
    assert.equal(result?.jkt, await calculateJwkThumbprint(jwk, 'sha256'));
  });

  it('returns undefined when the request has no DPoP header', async () => {
    assert.equal(await verifyDpopProof(p, request(), { htm: 'POST', htu: HTU }), undefined);
  });

  it('accepts every allowed asymmetric algorithm family (RSA-PSS, EdDSA)', async () => {
    for (const alg of ['PS256', 'EdDSA']) {
      const k = await generateKeyPair(alg, { extractable: true });
      const pub = await exportJWK(k.publicKey);
      const jwt = await new SignJWT({ jti: `a-${alg}`, htm: 'POST', htu: HTU, iat: clock })
        .setProtectedHeader({ typ: 'dpop+jwt', alg, jwk: pub })
        .sign(k.privateKey);
      assert.equal(
        (await verifyDpopProof(p, request(jwt), { htm: 'POST', htu: HTU }))?.jkt,
        await calculateJwkThumbprint(pub, 'sha256'),
      );
    }
  });

  it('compares htu without query and fragment', async () => {
    assert.ok(await verifyDpopProof(p, request(await proof({ htu: `${HTU}?x=1#frag` })), { htm: 'POST', htu: HTU }));
  });

  it('refuses a wrong typ', async () => {
    await refused(
      verifyDpopProof(p, request(await proof({}, { typ: 'JWT' })), { htm: 'POST', htu: HTU }),
      'invalid_dpop_proof',
      'typ',
    );
  });

  it('refuses alg none', async () => {
    const unsigned = `${b64({ typ: 'dpop+jwt', alg: 'none', jwk })}.${b64({ jti: 'none-1', htm: 'POST', htu: HTU, iat: clock })}.`;
    await refused(verifyDpopProof(p, request(unsigned), { htm: 'POST', htu: HTU }), 'invalid_dpop_proof', 'alg');
  });

  it('refuses an HMAC algorithm, even with a symmetric key in jwk', async () => {
    const secret = new Uint8Array(32).fill(7);
    const jwt = await new SignJWT({ jti: 'hs-1', htm: 'POST', htu: HTU, iat: clock })
      .setProtectedHeader({
        typ: 'dpop+jwt',
        alg: 'HS256',
        jwk: { kty: 'oct', k: Buffer.from(secret).toString('base64url') } as JWK,
      } as never)
      .sign(secret);
    await refused(verifyDpopProof(p, request(jwt), { htm: 'POST', htu: HTU }), 'invalid_dpop_proof', 'alg');
  });

  it('refuses expensive keys before verifying anything: RSA of 16384 bits, a huge or small exponent, EC off the named curves', async () => {
    const big = (bytes: number) => {
      const b = randomBytes(bytes);
      b[0]! |= 0x80;
      b[bytes - 1]! |= 1;
      return b.toString('base64url');
    };
    const unsigned = (jwk: object, sigBytes: number) =>
      `${b64({ typ: 'dpop+jwt', alg: 'RS256', jwk })}.${b64({ jti: `big-${++n}`, htm: 'POST', htu: HTU, iat: clock })}.${randomBytes(sigBytes).toString('base64url')}`;
    await refused(
      verifyDpopProof(p, request(unsigned({ kty: 'RSA', e: 'AQAB', n: big(2048) }, 2048)), { htm: 'POST', htu: HTU }),
      'invalid_dpop_proof',
      'key',
    );
    await refused(
      verifyDpopProof(p, request(unsigned({ kty: 'RSA', e: big(8), n: big(2048) }, 2048)), { htm: 'POST', htu: HTU }),
      'invalid_dpop_proof',
      'key',
    );
    await refused(
      verifyDpopProof(p, request(unsigned({ kty: 'RSA', e: big(383), n: big(384) }, 384)), { htm: 'POST', htu: HTU }),
      'invalid_dpop_proof',
      'key',
    );
    // A real key with e = 3 signs a proof jose would accept: refused for its exponent.
    const e3 = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 });
    const e3Proof = await new SignJWT({ jti: `e3-${++n}`, htm: 'POST', htu: HTU, iat: clock })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'RS256', jwk: e3.publicKey.export({ format: 'jwk' }) as JWK })
      .sign(e3.privateKey);
    await refused(verifyDpopProof(p, request(e3Proof), { htm: 'POST', htu: HTU }), 'invalid_dpop_proof', 'key');
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    const k1Proof = `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: k1.publicKey.export({ format: 'jwk' }) })}.${b64({ jti: `k1-${++n}`, htm: 'POST', htu: HTU, iat: clock })}.${randomBytes(64).toString('base64url')}`;
    await refused(verifyDpopProof(p, request(k1Proof), { htm: 'POST', htu: HTU }), 'invalid_dpop_proof', 'key');
    // A 4096-bit key with e = 65537 is fine.
    const rsa = generateKeyPairSync('rsa', { modulusLength: 4096 });
    const ok = await new SignJWT({ jti: `rsa-${++n}`, htm: 'POST', htu: HTU, iat: clock })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'PS256', jwk: rsa.publicKey.export({ format: 'jwk' }) as JWK })
      .sign(rsa.privateKey);
    assert.ok(await verifyDpopProof(p, request(ok), { htm: 'POST', htu: HTU }));
  });

  it('refuses a jwk holding private key material', async () => {
    const k = await generateKeyPair('ES256', { extractable: true });
    const priv = await exportJWK(k.privateKey);
    const jwt = await new SignJWT({ jti: 'priv-1', htm: 'POST', htu: HTU, iat: clock })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: priv })
      .sign(k.privateKey);
    await refused(verifyDpopProof(p, request(jwt), { htm: 'POST', htu: HTU }), 'invalid_dpop_proof', 'private_key');
  });

  it('refuses a proof signed by another key than its jwk', async () => {
    const other = await generateKeyPair('ES256');
    await refused(
      verifyDpopProof(p, request(await proof({}, {}, other.privateKey)), { htm: 'POST', htu: HTU }),
      'invalid_dpop_proof',
      'signature',
    );
  });

  it('refuses a wrong htm and a wrong htu', async () => {
    await refused(
      verifyDpopProof(p, request(await proof({ htm: 'GET' })), { htm: 'POST', htu: HTU }),
      'invalid_dpop_proof',
      'htm',
    );
    await refused(
      verifyDpopProof(p, request(await proof({ htu: `${ISSUER}/userinfo` })), { htm: 'POST', htu: HTU }),
      'invalid_dpop_proof',
      'htu',
    );
    await refused(
      verifyDpopProof(p, request(await proof({ htu: 'https://evil.example/token' })), { htm: 'POST', htu: HTU }),
      'invalid_dpop_proof',
      'htu',
    );
    await refused(
      verifyDpopProof(p, request(await proof({ htu: 'not a url' })), { htm: 'POST', htu: HTU }),
      'invalid_dpop_proof',
      'htu',
    );
  });

  it('refuses a stale iat and an iat too far in the future, and accepts small skew', async () => {
    await refused(
      verifyDpopProof(p, request(await proof({ iat: clock - p.config.dpopProofWindow - 1 })), {
        htm: 'POST',
        htu: HTU,
      }),
      'invalid_dpop_proof',
      'iat',
    );
    await refused(
      verifyDpopProof(p, request(await proof({ iat: clock + 11 })), { htm: 'POST', htu: HTU }),
      'invalid_dpop_proof',
      'iat',
    );
    assert.ok(await verifyDpopProof(p, request(await proof({ iat: clock + 5 })), { htm: 'POST', htu: HTU }));
    assert.ok(
      await verifyDpopProof(p, request(await proof({ iat: clock - p.config.dpopProofWindow })), {
        htm: 'POST',
        htu: HTU,
      }),
    );
  });

  it('refuses missing claims', async () => {
    const jwt = await new SignJWT({ htm: 'POST', htu: HTU, iat: clock })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
      .sign(key.privateKey);
    await refused(verifyDpopProof(p, request(jwt), { htm: 'POST', htu: HTU }), 'invalid_dpop_proof', 'claims');
  });

  it('accepts a jti once: a replayed proof is refused and reported', async () => {
    const jwt = await proof();
    assert.ok(await verifyDpopProof(p, request(jwt), { htm: 'POST', htu: HTU }));
    events = [];
    const err = await verifyDpopProof(p, request(jwt), { htm: 'POST', htu: HTU }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof OAuthError && err.code === 'invalid_dpop_proof');
    assert.deepEqual(
      events.map((e) => e.type),
      ['dpop_replay'],
    );
  });

  it('the same jti under another key is not a replay (namespaced by jkt)', async () => {
    const other = await generateKeyPair('ES256');
    const otherJwk = await exportJWK(other.publicKey);
    const claims = { jti: 'shared-jti', htm: 'POST', htu: HTU, iat: clock };
    const a = await new SignJWT(claims).setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk }).sign(key.privateKey);
    const b = await new SignJWT(claims)
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: otherJwk })
      .sign(other.privateKey);
    assert.ok(await verifyDpopProof(p, request(a), { htm: 'POST', htu: HTU }));
    assert.ok(await verifyDpopProof(p, request(b), { htm: 'POST', htu: HTU }));
  });

  it('checks ath against the access token at resource endpoints, with a DPoP challenge', async () => {
    const at = 'header.payload.signature';
    const expect = { htm: 'GET', htu: `${ISSUER}/userinfo`, accessToken: at, resource: true };
    assert.ok(
      await verifyDpopProof(
        p,
        request(await proof({ htm: 'GET', htu: expect.htu, ath: accessTokenHash(at) }), 'GET'),
        expect,
      ),
    );
    const err = await refused(
      verifyDpopProof(
        p,
        request(await proof({ htm: 'GET', htu: expect.htu, ath: accessTokenHash('another') }), 'GET'),
        expect,
      ),
      'invalid_dpop_proof',
      'ath',
    );
    assert.equal(err.status, 401);
    assert.match(err.headers!['www-authenticate']!, /^DPoP .*error="invalid_dpop_proof".*algs="ES256/);
    await refused(
      verifyDpopProof(p, request(await proof({ htm: 'GET', htu: expect.htu }), 'GET'), expect),
      'invalid_dpop_proof',
      'ath',
    );
  });

  it('with nonces required: refuses a missing or wrong nonce with use_dpop_nonce and a fresh DPoP-Nonce', async () => {
    const np = provider({ TESSERA_DPOP_REQUIRE_NONCE: 'true' });
    const missing = await refused(
      verifyDpopProof(np, request(await proof()), { htm: 'POST', htu: HTU }),
      'use_dpop_nonce',
      'nonce',
    );
    assert.equal(missing.status, 400);
    const nonce = missing.headers!['dpop-nonce']!;
    assert.equal(nonce, currentNonce(np));
    await refused(
      verifyDpopProof(np, request(await proof({ nonce: 'made-up' })), { htm: 'POST', htu: HTU }),
      'use_dpop_nonce',
      'nonce',
    );
    assert.ok(await verifyDpopProof(np, request(await proof({ nonce })), { htm: 'POST', htu: HTU }));
    // A nonce is good in the next slot too, and no longer after that.
    const saved = clock;
    clock += NONCE_SLOT;
    assert.ok(await verifyDpopProof(np, request(await proof({ nonce })), { htm: 'POST', htu: HTU }));
    clock += NONCE_SLOT;
    await refused(
      verifyDpopProof(np, request(await proof({ nonce })), { htm: 'POST', htu: HTU }),
      'use_dpop_nonce',
      'nonce',
    );
    clock = saved;
    // Another server secret computes other nonces (nonces are not forgeable without it).
    const other = provider({
      TESSERA_DPOP_REQUIRE_NONCE: 'true',
      TESSERA_SECRET: 'another-secret-of-at-least-32-bytes-long!!',
    });
    assert.notEqual(currentNonce(other), nonce);
    await refused(verifyDpopProof(other, request(await proof({ nonce })), { htm: 'POST', htu: HTU }), 'use_dpop_nonce');
  });

  it('refuses an oversized proof, a malformed JWT and several DPoP headers', async () => {
    await refused(
      verifyDpopProof(p, request('a'.repeat(MAX_PROOF_LENGTH + 1)), { htm: 'POST', htu: HTU }),
      'invalid_dpop_proof',
      'size',
    );
    await refused(
      verifyDpopProof(p, request('not-a-jwt'), { htm: 'POST', htu: HTU }),
      'invalid_dpop_proof',
      'malformed',
    );
    await refused(
      verifyDpopProof(p, request(`${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk })}.%%%.abc`), { htm: 'POST', htu: HTU }),
      'invalid_dpop_proof',
    );
    const signedGarbage = await new SignJWT({})
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
      .sign(key.privateKey);
    const [h, , sig] = signedGarbage.split('.');
    await refused(
      verifyDpopProof(p, request(`${h}.${Buffer.from('[1,2').toString('base64url')}.${sig}`), {
        htm: 'POST',
        htu: HTU,
      }),
      'invalid_dpop_proof',
    );
    const one = await proof();
    await refused(verifyDpopProof(p, request([one, one]), { htm: 'POST', htu: HTU }), 'invalid_dpop_proof');
    await refused(verifyDpopProof(p, request(`${one}, ${one}`), { htm: 'POST', htu: HTU }), 'invalid_dpop_proof');
    await refused(
      verifyDpopProof(p, request(await proof({}, { jwk: 'not-an-object' })), { htm: 'POST', htu: HTU }),
      'invalid_dpop_proof',
      'jwk',
    );
  });

  it('advertises only asymmetric algorithms', () => {
    assert.ok(DPOP_ALGS.every((a) => !/^HS|^none$/i.test(a)));
    assert.match(dpopChallenge(), /^DPoP realm="tessera", algs="ES256 /);
  });
});
