// Floors: what plain Fastify costs on this machine, with no OAuth logic.
//   GET  /json   a small JSON document (compare with discovery and JWKS)
//   POST /token  parse a form body, check Basic client credentials (HMAC, constant-time compare)
//                and sign an ES256 JWT access token with jose (compare with client_credentials)
//   POST /token-node  the same, signing with node:crypto's synchronous signer
//   GET  /jwks   the public key, so the harness can verify the floor's tokens (not measured)
// Run by bench/run.ts with BENCH_FLOOR_CONFIG naming a JSON file of { port, issuer, client }.
import { createHmac, KeyObject, randomUUID, sign, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { RESOURCE, RESOURCE_SCOPE, type BenchClient } from './lib/fixtures.ts';

const opts = JSON.parse(readFileSync(process.env.BENCH_FLOOR_CONFIG ?? '', 'utf8')) as { port: number; issuer: string; client: BenchClient };
const hmacKey = randomUUID();
const mac = (s: string) => createHmac('sha256', hmacKey).update(s).digest();
const stored = new Map([[opts.client.id, mac(opts.client.secret)]]);
const { privateKey, publicKey } = await generateKeyPair('ES256');
const kid = 'floor-es256';
const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] };

const app = Fastify({ logger: false });
app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, new URLSearchParams(body as string)));

app.get('/json', async () => ({ status: 'ok', issuer: opts.issuer }));
app.get('/jwks', async () => jwks);

function client(authorization: string | undefined): string | undefined {
  const m = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(authorization ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  const id = decodeURIComponent(decoded.slice(0, i));
  const expected = stored.get(id);
  const got = mac(decodeURIComponent(decoded.slice(i + 1)));
  return expected && timingSafeEqual(expected, got) ? id : undefined;
}

app.post('/token', async (req, reply) => {
  const form = req.body as URLSearchParams | undefined;
  const id = client(req.headers.authorization);
  if (!id) return reply.code(401).header('www-authenticate', 'Basic').send({ error: 'invalid_client' });
  if (form?.get('grant_type') !== 'client_credentials') return reply.code(400).send({ error: 'unsupported_grant_type' });
  const token = await new SignJWT({ client_id: id, scope: RESOURCE_SCOPE })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
    .setIssuer(opts.issuer).setSubject(id).setAudience(RESOURCE).setIssuedAt().setExpirationTime('15m').setJti(randomUUID())
    .sign(privateKey);
  return reply.header('cache-control', 'no-store').send({ access_token: token, token_type: 'Bearer', expires_in: 900, scope: RESOURCE_SCOPE });
});

const nodeKey = KeyObject.from(privateKey as CryptoKey);
const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid })).toString('base64url');
app.post('/token-node', async (req, reply) => {
  const form = req.body as URLSearchParams | undefined;
  const id = client(req.headers.authorization);
  if (!id) return reply.code(401).header('www-authenticate', 'Basic').send({ error: 'invalid_client' });
  if (form?.get('grant_type') !== 'client_credentials') return reply.code(400).send({ error: 'unsupported_grant_type' });
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: opts.issuer, sub: id, aud: RESOURCE, iat: now, exp: now + 900, jti: randomUUID(), client_id: id, scope: RESOURCE_SCOPE };
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const signature = sign('sha256', Buffer.from(input), { key: nodeKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return reply.header('cache-control', 'no-store').send({ access_token: `${input}.${signature}`, token_type: 'Bearer', expires_in: 900, scope: RESOURCE_SCOPE });
});

await app.listen({ host: '127.0.0.1', port: opts.port });
process.stdout.write(`floor listening on ${opts.issuer}\n`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => { app.close().then(() => process.exit(0)); });
