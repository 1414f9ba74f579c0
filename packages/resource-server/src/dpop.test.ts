import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { refusal } from './challenge.ts';
import { DpopNonces, htuOf, NONCE_PERIOD, verifyDpopProof } from './dpop.ts';
import { InvalidDpopProofError, UseDpopNonceError } from './errors.ts';
import { MemoryReplayStore } from './replay-store.ts';

const NOW = 1_800_000_000;
const URL_ = new URL('https://api.example/mcp');
const TOKEN = 'the-access-token';
const ath = createHash('sha256').update(TOKEN).digest('base64url');

async function key(alg = 'ES256') {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256'), alg };
}
type Key = Awaited<ReturnType<typeof key>>;

function sign(k: Key, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) {
  return new SignJWT({ jti: randomUUID(), htm: 'POST', htu: URL_.href, iat: NOW, ath, ...claims })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: k.alg, jwk: k.jwk, ...header })
    .sign(k.privateKey);
}

const opts = () => ({
  algorithms: ['ES256', 'EdDSA'],
  proofWindow: 60,
  clockSkew: 5,
  replay: new MemoryReplayStore(),
  now: () => NOW,
});

describe('DPoP proofs (RFC 9449 section 4.3)', () => {
  it('accepts a proof for the request, the token and the bound key, once', async () => {
    const k = await key();
    const o = opts();
    const proof = await sign(k);
    const check = { proof, method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt };
    await verifyDpopProof(check, o);
    await assert.rejects(verifyDpopProof(check, o), /used before/);
  });

  it('ignores query and fragment in htu, and refuses another path, host or scheme', async () => {
    const k = await key();
    await verifyDpopProof(
      {
        proof: await sign(k, { htu: 'https://api.example/mcp?a=1#x' }),
        method: 'POST',
        url: URL_,
        accessToken: TOKEN,
        jkt: k.jkt,
      },
      opts(),
    );
    for (const htu of ['https://api.example/mcp/', 'https://other.example/mcp', 'http://api.example/mcp', 'not a url'])
      await assert.rejects(
        verifyDpopProof(
          { proof: await sign(k, { htu }), method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt },
          opts(),
        ),
        InvalidDpopProofError,
        htu,
      );
    assert.equal(htuOf('HTTPS://API.EXAMPLE:443/mcp'), 'https://api.example/mcp');
  });

  it('refuses each broken part', async () => {
    const k = await key();
    const other = await key();
    const hs = new TextEncoder().encode('0123456789abcdef0123456789abcdef');
    const cases: [string, Promise<string>, string?][] = [
      ['method', sign(k, { htm: 'GET' })],
      ['ath', sign(k, { ath: 'x' })],
      ['no ath', sign(k, { ath: undefined })],
      ['old', sign(k, { iat: NOW - 70 })],
      ['future', sign(k, { iat: NOW + 10 })],
      ['jti short', sign(k, { jti: 'a' })],
      ['typ', sign(k, {}, { typ: 'jwt' })],
      ['key', sign(other)],
      ['alg not allowed', sign(await key('ES384'))],
      ['private key in header', sign(k, {}, { jwk: { ...(await exportJWK(k.privateKey)) } })],
      [
        'symmetric',
        new SignJWT({ jti: randomUUID(), htm: 'POST', htu: URL_.href, iat: NOW, ath })
          .setProtectedHeader({
            typ: 'dpop+jwt',
            alg: 'HS256',
            jwk: { kty: 'oct', k: 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY' } as never,
          })
          .sign(hs),
      ],
      ['not a JWT', Promise.resolve('nope')],
    ];
    for (const [name, p] of cases) {
      await assert.rejects(
        verifyDpopProof({ proof: await p, method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt }, opts()),
        InvalidDpopProofError,
        name,
      );
    }
    // Within the skew, a proof from slightly ahead is fine.
    await verifyDpopProof(
      { proof: await sign(k, { iat: NOW + 4 }), method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt },
      opts(),
    );
  });

  it('requires the server nonce when configured: use_dpop_nonce with the nonce, then accepted; previous period too', async () => {
    const k = await key();
    const nonces = new DpopNonces('a-secret-of-at-least-thirty-two-bytes!!');
    const o = { ...opts(), nonces };
    const check = async (claims: Record<string, unknown>, at = NOW) =>
      verifyDpopProof(
        { proof: await sign(k, { iat: at, ...claims }), method: 'POST', url: URL_, accessToken: TOKEN, jkt: k.jkt },
        { ...o, now: () => at },
      );
    let given = '';
    await assert.rejects(check({}), (e) => {
      assert.ok(e instanceof UseDpopNonceError);
      given = e.nonce;
      const r = refusal(e, { schemes: ['DPoP'], used: 'DPoP' });
      assert.equal(r.status, 401);
      assert.equal(r.headers['dpop-nonce'], given);
      assert.match(r.headers['www-authenticate']!, /^DPoP error="use_dpop_nonce"/);
      return true;
    });
    await check({ nonce: given });
    await assert.rejects(check({ nonce: 'made-up' }), UseDpopNonceError);
    // The next period still accepts it; the one after does not.
    await check({ nonce: given }, NOW + NONCE_PERIOD);
    await assert.rejects(check({ nonce: given }, NOW + 2 * NONCE_PERIOD), UseDpopNonceError);
    // Another secret's nonces are not accepted.
    const other = new DpopNonces('another-secret-of-at-least-thirty-two-b');
    assert.equal(other.accepts(given, NOW), false);
    assert.throws(() => new DpopNonces('short'), /32 bytes/);
  });
});
