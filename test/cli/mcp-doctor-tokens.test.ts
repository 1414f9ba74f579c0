/**
 * What `tessera mcp doctor` does with the tokens it obtains. The MCP server under test may be a third
 * party: it must never be shown a token valid anywhere else (the security review's reproduction,
 * adapted: it once got a token for Tessera's default audience), and every token the doctor obtained
 * is revoked by the end of the run. Against a real Tessera (introspection says active=false
 * afterwards) and against stand-in authorization servers that misbehave.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Row } from '../../src/cli/checks.ts';
import { canaryResource, mcpDoctor, type DoctorOptions } from '../../src/cli/mcp-doctor.ts';
import { runCli } from '../fixtures/cli.ts';
import { startServer, type RunningServer } from '../fixtures/server.ts';

const SECRET = 'doctor-secret-0123456789abcdef012';
const FAILED_REVOCATION =
  /^revoking (.+) at http:\/\/127\.0\.0\.1:\d+\/revoke got HTTP 503 temporarily_unavailable: it stays valid until it expires$/;

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const audOf = (token: string): unknown => {
  try {
    return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { aud?: unknown }).aud;
  } catch {
    return '(opaque)';
  }
};

interface Listening {
  url: string;
  close(): Promise<void>;
}
async function listen(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<Listening> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8'))).on('end', () => handler(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * The MCP server under test: records every bearer token it is shown; serves its RFC 9728 metadata;
 * accepts (200) only a JWT of `issuer` whose aud is its own URL when `issuer` is set, else refuses all.
 */
async function recordingMcp() {
  const state = { issuer: '', seen: [] as string[] };
  const jwks = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  const server = await listen((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/.well-known/oauth-protected-resource/mcp')
        return json(res, 200, { resource: `${server.url}/mcp`, authorization_servers: [state.issuer] });
      const auth = req.headers.authorization;
      if (auth?.startsWith('Bearer ')) state.seen.push(auth.slice(7));
      const refuse = () =>
        json(
          res,
          401,
          { error: 'invalid_token' },
          {
            'www-authenticate': `Bearer resource_metadata="${server.url}/.well-known/oauth-protected-resource/mcp"`,
          },
        );
      if (!auth?.startsWith('Bearer ') || !state.issuer) return refuse();
      try {
        if (!jwks.has(state.issuer)) jwks.set(state.issuer, createRemoteJWKSet(new URL(`${state.issuer}/jwks`)));
        await jwtVerify(auth.slice(7), jwks.get(state.issuer)!, {
          issuer: state.issuer,
          audience: `${server.url}/mcp`,
          typ: 'at+jwt',
        });
      } catch {
        return refuse();
      }
      json(res, 200, { jsonrpc: '2.0', id: 1, result: {} });
    })();
  });
  return { ...server, resource: `${server.url}/mcp`, state };
}

/** One HTTP request the doctor made (globalThis.fetch wrapped), and the access tokens it was given. */
interface Sent {
  url: string;
  method: string;
  bearer?: string;
  body?: string;
}
async function recordFetches<T>(tokenEndpoint: string, run: () => Promise<T>) {
  const sent: Sent[] = [];
  const obtained: string[] = [];
  const real = globalThis.fetch;
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    // The recording MCP server runs in this process too: its key fetches (jose) are not the doctor's.
    if (url.endsWith('/jwks')) return real(input, init);
    const headers = new Headers(init?.headers);
    const bearer = /^Bearer (.+)$/.exec(headers.get('authorization') ?? '')?.[1];
    sent.push({
      url,
      method: init?.method ?? 'GET',
      bearer,
      body: typeof init?.body === 'string' ? init.body : undefined,
    });
    const res = await real(input, init);
    if (url === tokenEndpoint && res.status === 200) {
      const body = (await res.clone().json()) as { access_token?: string };
      if (body.access_token) obtained.push(body.access_token);
    }
    return res;
  };
  try {
    return { result: await run(), sent, obtained };
  } finally {
    globalThis.fetch = real;
  }
}

const rowOf = (rows: Row[], id: string): Row => {
  const found = rows.find((r) => r.id === id);
  assert.ok(found, `no row ${id}`);
  return found;
};

describe('mcp doctor and its tokens, against a real Tessera', () => {
  let mcp: Awaited<ReturnType<typeof recordingMcp>>;
  let tessera: RunningServer;
  let strict: RunningServer;
  const basic = (id: string) => `Basic ${Buffer.from(`${id}:${SECRET}`).toString('base64')}`;
  const client = (client_id: string, allowed_resources: string[]) => ({
    client_id,
    client_secret: SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    scope: 'mcp.tools',
    allowed_resources,
  });

  before(async () => {
    mcp = await recordingMcp();
    const canary = canaryResource(mcp.resource);
    tessera = await startServer({
      bootstrap: { clients: [client('doctor', [mcp.resource, canary]), client('narrow', [mcp.resource])] },
    });
    // The registry of resource servers only: the canary is no registered resource, whatever the client may ask.
    strict = await startServer({
      env: { TESSERA_RESOURCE_REGISTRY_ONLY: 'true' },
      bootstrap: {
        clients: [client('doctor', [mcp.resource, canary])],
        resources: [{ identifier: mcp.resource, display_name: 'MCP' }],
      },
    });
  });
  after(async () => {
    await tessera?.stop();
    await strict?.stop();
    await mcp?.close();
  });

  const introspect = async (issuer: string, id: string, token: string) => {
    const res = await fetch(`${issuer}/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(id) },
      body: new URLSearchParams({ token }).toString(),
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { active: boolean }).active;
  };
  const run = (issuer: string, id: string) => {
    mcp.state.issuer = issuer;
    mcp.state.seen = [];
    const o: DoctorOptions = {
      resource: mcp.resource,
      issuer,
      revision: '2025-11-25',
      origin: 'https://x.test',
      client: { id, secret: SECRET },
      timeoutMs: 5000,
    };
    return recordFetches(`${issuer}/token`, () => mcpDoctor(o));
  };

  it('shows the MCP server only the resource token and a canary token, and revokes both', async () => {
    const canary = canaryResource(mcp.resource);
    assert.equal(canary, `${mcp.resource}/tessera-doctor-canary`);
    const { result: report, sent, obtained } = await run(tessera.issuer, 'doctor');
    const rows = report.rows;
    for (const id of ['token-obtained', 'token-audience', 'rs-accepts-token', 'rs-refuses-other-audience'])
      assert.equal(rowOf(rows, id).outcome, 'pass', `${id}: ${rowOf(rows, id).reason}`);
    assert.deepEqual(report.warnings, []);

    // What the MCP server saw: the resource token and the canary token, nothing else.
    assert.deepEqual(
      mcp.state.seen.map(audOf).filter((a) => a !== '(opaque)'),
      [mcp.resource, canary],
    );
    assert.equal(obtained.length, 2);
    assert.deepEqual(new Set(obtained), new Set(mcp.state.seen.filter((t) => audOf(t) !== '(opaque)')));

    // Each is revoked right after the one request that shows it to the MCP server: the doctor's next request.
    for (const token of obtained) {
      const probeAt = sent.findIndex((s) => s.url === mcp.resource && s.bearer === token);
      assert.ok(probeAt > 0);
      const next = sent[probeAt + 1]!;
      assert.equal(next.url, `${tessera.issuer}/revoke`);
      assert.equal(new URLSearchParams(next.body).get('token'), token);
    }
    assert.equal(sent.filter((s) => s.url === `${tessera.issuer}/revoke`).length, 2, 'each revoked once');

    // Introspection of every token the doctor got: revoked. A token not revoked is still active (control).
    for (const token of obtained) assert.equal(await introspect(tessera.issuer, 'doctor', token), false);
    const control = await fetch(`${tessera.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('doctor') },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: mcp.resource }).toString(),
    });
    const { access_token } = (await control.json()) as { access_token: string };
    assert.equal(await introspect(tessera.issuer, 'doctor', access_token), true);
  });

  it('skips the other-audience row when the client may not ask for the canary, and still revokes', async () => {
    const { result: report, obtained } = await run(tessera.issuer, 'narrow');
    const row = rowOf(report.rows, 'rs-refuses-other-audience');
    assert.equal(row.outcome, 'skip');
    assert.match(row.reason, /no token for the canary audience .*tessera-doctor-canary \(HTTP 400 invalid_target\)/);
    assert.match(row.reason, /allowed_resources/);
    assert.equal(rowOf(report.rows, 'rs-accepts-token').outcome, 'pass');
    assert.deepEqual(
      mcp.state.seen.map(audOf).filter((a) => a !== '(opaque)'),
      [mcp.resource],
    );
    assert.equal(obtained.length, 1);
    assert.equal(await introspect(tessera.issuer, 'narrow', obtained[0]!), false);
    assert.deepEqual(report.warnings, []);
    assert.equal(report.exitCode(), 0);
  });

  it('skips it under TESSERA_RESOURCE_REGISTRY_ONLY, where the canary is no registered resource', async () => {
    const { result: report, obtained } = await run(strict.issuer, 'doctor');
    const row = rowOf(report.rows, 'rs-refuses-other-audience');
    assert.equal(row.outcome, 'skip');
    assert.match(row.reason, /invalid_target\): to run this check, .*TESSERA_RESOURCE_REGISTRY_ONLY/);
    assert.equal(rowOf(report.rows, 'rs-accepts-token').outcome, 'pass', JSON.stringify(report.rows, null, 1));
    assert.deepEqual(
      mcp.state.seen.map(audOf).filter((a) => a !== '(opaque)'),
      [mcp.resource],
    );
    for (const token of obtained) assert.equal(await introspect(strict.issuer, 'doctor', token), false);
    assert.equal(obtained.length, 1);
  });
});

describe('mcp doctor and its tokens, against stand-in authorization servers', () => {
  /**
   * The operator's authorization server (stand-in): metadata, client_credentials at /token (a JWT-shaped
   * token with a random jti, for `resource` when `honourResource`, else for the issuer), and /revoke
   * answering `revokeStatus` when `revokeStatus` is set (else no revocation_endpoint).
   */
  async function standIn(honourResource: boolean, revokeStatus?: number) {
    const revoked: string[] = [];
    const as: Listening = await listen((req, res, body) => {
      const json = (status: number, value: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      if (req.url?.startsWith('/.well-known/'))
        return json(200, {
          issuer: as.url,
          token_endpoint: `${as.url}/token`,
          code_challenge_methods_supported: ['S256'],
          ...(revokeStatus ? { revocation_endpoint: `${as.url}/revoke` } : {}),
        });
      const params = new URLSearchParams(body);
      if (req.url === '/revoke') {
        revoked.push(params.get('token') ?? '');
        return json(revokeStatus!, revokeStatus === 200 ? {} : { error: 'temporarily_unavailable' });
      }
      if (req.method !== 'POST' || params.get('grant_type') !== 'client_credentials')
        return json(400, { error: 'invalid_request' });
      const aud = (honourResource && params.get('resource')) || as.url;
      json(200, {
        access_token: `${b64({ alg: 'ES256' })}.${b64({ aud, scope: 'admin:read', jti: randomUUID() })}.sig`,
        token_type: 'Bearer',
      });
    });
    return { ...as, revoked };
  }

  it('an authorization server that honours resource: only the resource and the canary reach the MCP server', async () => {
    const as = await standIn(true);
    const mcp = await recordingMcp();
    try {
      const { result: report, obtained } = await recordFetches(`${as.url}/token`, () =>
        mcpDoctor({
          resource: mcp.resource,
          issuer: as.url,
          revision: '2025-11-25',
          origin: 'https://x.test',
          client: { id: 'doctor', secret: 's' },
          timeoutMs: 2000,
        }),
      );
      const auds = mcp.state.seen.map(audOf);
      assert.ok(auds.includes(canaryResource(mcp.resource)), JSON.stringify(auds));
      assert.ok(
        auds.every((a) => a === mcp.resource || a === canaryResource(mcp.resource) || a === '(opaque)'),
        `a token for another audience reached the MCP server: ${JSON.stringify(auds)}`,
      );
      // This one grants the unknown resource too (as-invalid-target fails): three tokens, none revocable.
      assert.equal(obtained.length, 3);
      assert.equal(report.warnings.length, 3);
      for (const w of report.warnings) {
        assert.match(w, /was not revoked \(no revocation_endpoint in the metadata\): it stays valid until it expires/);
        for (const token of obtained) assert.ok(!w.includes(token), 'a warning shows a token');
      }
      assert.equal(rowOf(report.rows, 'as-invalid-target').outcome, 'fail');
    } finally {
      await as.close();
      await mcp.close();
    }
  });

  it('an authorization server that ignores resource: the MCP server sees no token; failed revocations are warnings', async () => {
    const as = await standIn(false, 503);
    const mcp = await recordingMcp();
    try {
      const options = {
        resource: mcp.resource,
        issuer: as.url,
        revision: '2025-11-25' as const,
        origin: 'https://x.test',
        client: { id: 'doctor', secret: 's' },
        timeoutMs: 2000,
      };
      const { result: report, obtained } = await recordFetches(`${as.url}/token`, () => mcpDoctor(options));
      assert.deepEqual(
        mcp.state.seen.map(audOf).filter((a) => a !== '(opaque)'),
        [],
        'a token for the default audience reached the MCP server',
      );
      assert.equal(rowOf(report.rows, 'token-audience').outcome, 'fail');
      assert.equal(rowOf(report.rows, 'rs-accepts-token').outcome, 'skip');
      assert.match(
        rowOf(report.rows, 'rs-accepts-token').reason,
        /is not only .*, so it is not sent to the MCP server/,
      );
      assert.equal(rowOf(report.rows, 'rs-refuses-other-audience').outcome, 'skip');
      assert.match(rowOf(report.rows, 'rs-refuses-other-audience').reason, /has aud .*, so it is not sent/);
      // Each was offered for revocation; each failure is a warning without the token.
      assert.deepEqual(new Set(as.revoked), new Set(obtained));
      assert.equal(obtained.length, 3);
      assert.equal(report.warnings.length, 3);
      assert.deepEqual(
        report.warnings.map((w) => FAILED_REVOCATION.exec(w)?.[1]),
        ['the token for the resource', 'the canary token', 'the token for the unknown resource'],
      );
      for (const w of report.warnings) for (const token of obtained) assert.ok(!w.includes(token));

      // The CLI prints them as warning lines on standard error (and in the JSON with --json).
      const cli = await runCli(
        [
          'mcp',
          'doctor',
          '--resource',
          mcp.resource,
          '--issuer',
          as.url,
          '--client-id',
          'doctor',
          '--client-secret-stdin',
        ],
        {},
        's',
      );
      const lines = cli.err.split('\n').filter((l) => l.startsWith('warning: revoking'));
      assert.equal(lines.length, 3, cli.err);
      for (const token of as.revoked) assert.ok(!cli.out.includes(token) && !cli.err.includes(token));
      const json = await runCli(
        [
          'mcp',
          'doctor',
          '--json',
          '--resource',
          mcp.resource,
          '--issuer',
          as.url,
          '--client-id',
          'doctor',
          '--client-secret-stdin',
        ],
        {},
        's',
      );
      assert.equal((JSON.parse(json.out) as { warnings: string[] }).warnings.length, 3);
    } finally {
      await as.close();
      await mcp.close();
    }
  });
});
