// Floors: what plain Fastify costs on this machine, with no OAuth logic.
//   GET  /json   a small JSON document (compare with discovery and JWKS)
//   POST /token  parse a form body, check Basic client credentials (HMAC, constant-time compare)
//                and sign an ES256 JWT access token with jose (compare with client_credentials)
//   POST /token-node  the same, signing with node:crypto's synchronous signer
//   POST /token-raw   the same as /token-node on plain node:http, answered before Fastify sees it,
//                     each response finished at the end of the event loop's turn as Tessera's
//                     lanes do (src/http/end-of-turn.ts): what the token work costs with no web
//                     framework at all
//   GET  /jwks   the public key, so the harness can verify the floor's tokens (not measured)
// Run by bench/run.ts with BENCH_FLOOR_CONFIG naming a JSON file of { port, issuer, client }.
import { createHmac, KeyObject, randomUUID, sign, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify from 'fastify';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { RESOURCE, RESOURCE_SCOPE, type BenchClient } from './lib/fixtures.ts';
import { derToJose } from '../src/protocol/tokens/signer.ts';
import { endAtTurnEnd } from '../src/http/end-of-turn.ts';

const opts = JSON.parse(readFileSync(process.env.BENCH_FLOOR_CONFIG ?? '', 'utf8')) as {
  port: number;
  issuer: string;
  client: BenchClient;
};
const hmacKey = randomUUID();
const mac = (s: string) => createHmac('sha256', hmacKey).update(s).digest();
const stored = new Map([[opts.client.id, mac(opts.client.secret)]]);
const { privateKey, publicKey } = await generateKeyPair('ES256');
const kid = 'floor-es256';
const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] };

const app = Fastify({
  logger: false,
  // POST /token-raw is answered here, before Fastify; everything else goes to Fastify.
  serverFactory: (fastify) =>
    createServer((req, res) =>
      req.method === 'POST' && req.url === '/token-raw' ? rawToken(req, res) : fastify(req, res),
    ),
});
app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
  done(null, new URLSearchParams(body as string)),
);

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
  if (form?.get('grant_type') !== 'client_credentials')
    return reply.code(400).send({ error: 'unsupported_grant_type' });
  const token = await new SignJWT({ client_id: id, scope: RESOURCE_SCOPE })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
    .setIssuer(opts.issuer)
    .setSubject(id)
    .setAudience(RESOURCE)
    .setIssuedAt()
    .setExpirationTime('15m')
    .setJti(randomUUID())
    .sign(privateKey);
  return reply
    .header('cache-control', 'no-store')
    .send({ access_token: token, token_type: 'Bearer', expires_in: 900, scope: RESOURCE_SCOPE });
});

const nodeKey = KeyObject.from(privateKey as CryptoKey);
const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid })).toString('base64url');
/**
 * node:crypto's fastest ES256 path: the plain KeyObject call (an options object such as
 * { dsaEncoding } makes node prepare the key again on every call) and the DER signature turned
 * into the JWS form.
 */
function nodeToken(id: string): string {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: opts.issuer,
    sub: id,
    aud: RESOURCE,
    iat: now,
    exp: now + 900,
    jti: randomUUID(),
    client_id: id,
    scope: RESOURCE_SCOPE,
  };
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${derToJose(sign('sha256', Buffer.from(input), nodeKey), 32).toString('base64url')}`;
}

app.post('/token-node', async (req, reply) => {
  const form = req.body as URLSearchParams | undefined;
  const id = client(req.headers.authorization);
  if (!id) return reply.code(401).header('www-authenticate', 'Basic').send({ error: 'invalid_client' });
  if (form?.get('grant_type') !== 'client_credentials')
    return reply.code(400).send({ error: 'unsupported_grant_type' });
  return reply
    .header('cache-control', 'no-store')
    .send({ access_token: nodeToken(id), token_type: 'Bearer', expires_in: 900, scope: RESOURCE_SCOPE });
});

function rawToken(req: IncomingMessage, res: ServerResponse): void {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => {
    body += chunk;
  });
  req.on('end', () => {
    const json = (status: number, value: object, headers: Record<string, string> = {}) => {
      const text = JSON.stringify(value);
      endAtTurnEnd(
        res.writeHead(status, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(text),
          ...headers,
        }),
        text,
      );
    };
    const id = client(req.headers.authorization);
    if (!id) return json(401, { error: 'invalid_client' }, { 'www-authenticate': 'Basic' });
    if (
      !/^application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '') ||
      new URLSearchParams(body).get('grant_type') !== 'client_credentials'
    ) {
      return json(400, { error: 'unsupported_grant_type' });
    }
    json(
      200,
      { access_token: nodeToken(id), token_type: 'Bearer', expires_in: 900, scope: RESOURCE_SCOPE },
      { 'cache-control': 'no-store' },
    );
  });
}

await app.listen({ host: '127.0.0.1', port: opts.port });
process.stdout.write(`floor listening on ${opts.issuer}\n`);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    void app.close().then(() => process.exit(0));
  });
