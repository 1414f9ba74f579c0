// Verifications per second: the SDK's authenticate() on a Bearer JWT access token against jose's
// jwtVerify alone on the same token (same key, issuer, audience and typ checks), one run, printed as a
// ratio. Run by hand: node packages/resource-server/bench/verify.ts [seconds, default 6]
//
// The token is an ES256 at+jwt shaped as Tessera's; a small in-process HTTP server publishes the
// metadata and the JWKS the SDK fetches once (both then come from its cache, as in production).
import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { createResourceServer } from '../src/index.ts';

const seconds = Number(process.argv[2] ?? 6);
const RESOURCE = 'https://api.example/mcp';

const { privateKey, publicKey } = await generateKeyPair('ES256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
const server = createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  if (req.url === '/jwks') res.end(JSON.stringify({ keys: [jwk] }));
  else res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const now = Math.floor(Date.now() / 1000);
const token = await new SignJWT({ sub: 'alice', client_id: 'agent', jti: randomUUID(), scope: 'notes:read' })
  .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
  .setIssuer(issuer)
  .setAudience(RESOURCE)
  .setIssuedAt(now)
  .setExpirationTime(now + 3600)
  .sign(privateKey);

const rs = createResourceServer({ issuer, resource: RESOURCE });
const request = { method: 'POST', url: '/mcp', headers: { authorization: `Bearer ${token}` } };

/**
 * Runs `a` and `b` in alternating batches for `seconds` in all, after a warm-up, timing each batch: load from other
 * processes that comes and goes then falls on both alike. Returns calls per second of each.
 */
async function measurePair(a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<[number, number]> {
  for (let i = 0; i < 2000; i++) {
    await a();
    await b();
  }
  const time = [0, 0];
  const count = [0, 0];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (const [i, fn] of [a, b].entries()) {
      const t0 = performance.now();
      for (let k = 0; k < 50; k++) await fn();
      time[i]! += performance.now() - t0;
      count[i]! += 50;
    }
  }
  return [count[0]! / (time[0]! / 1000), count[1]! / (time[1]! / 1000)];
}

// jose alone, given the same key set the SDK fetched (held locally: no fetch, no cache lookup of ours).
const keySet = createLocalJWKSet({ keys: [jwk] });
const joseAlone = () => jwtVerify(token, keySet, { issuer, audience: RESOURCE, typ: 'at+jwt', algorithms: ['ES256'] });
const sdk = () => rs.authenticate(request, { scopes: ['notes:read'] });

// A DPoP-bound token with a fresh proof per call (the proofs are made beforehand, outside the timing).
const dpop = await generateKeyPair('ES256');
const dpopJwk = await exportJWK(dpop.publicKey);
const bound = await new SignJWT({
  sub: 'alice',
  client_id: 'agent',
  jti: randomUUID(),
  scope: 'notes:read',
  cnf: { jkt: await calculateJwkThumbprint(dpopJwk, 'sha256') },
})
  .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
  .setIssuer(issuer)
  .setAudience(RESOURCE)
  .setIssuedAt(now)
  .setExpirationTime(now + 3600)
  .sign(privateKey);
const ath = createHash('sha256').update(bound).digest('base64url');
const proofs: string[] = [];
async function nextProof(): Promise<string> {
  return new SignJWT({ jti: randomUUID(), htm: 'POST', htu: RESOURCE, iat: Math.floor(Date.now() / 1000), ath })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: dpopJwk })
    .sign(dpop.privateKey);
}
const dpopCount = 20_000;
for (let i = 0; i < dpopCount; i++) proofs.push(await nextProof());
let p = 0;
const sdkDpop = () =>
  rs.authenticate({
    method: 'POST',
    url: '/mcp',
    headers: { authorization: `DPoP ${bound}`, dpop: proofs[p++ % dpopCount]! },
  });

await sdk(); // fetches metadata and JWKS once
const [a, b] = await measurePair(joseAlone, sdk);
console.log(`node ${process.version}, ${seconds} s in alternating batches, ES256`);
console.log(`jose jwtVerify alone:        ${Math.round(a).toLocaleString('en')} verifications/s`);
console.log(`SDK authenticate (Bearer):   ${Math.round(b).toLocaleString('en')} verifications/s`);
console.log(`ratio SDK / jose:            ${(b / a).toFixed(2)}`);
// DPoP: each proof is used once; the replay store would refuse a second round, so one pass at most.
const start = performance.now();
let ok = 0;
for (let i = 0; i < dpopCount; i++) {
  await sdkDpop();
  ok++;
}
const c = ok / ((performance.now() - start) / 1000);
console.log(
  `SDK authenticate (DPoP):     ${Math.round(c).toLocaleString('en')} verifications/s (token + proof + replay check)`,
);
server.close();
