/**
 * `tessera mcp doctor`, run for real (the CLI as a child process) against a real Tessera and a real
 * MCP server (MCP SDK 1.x, McpServer over Streamable HTTP) behind a bearer check that verifies
 * Tessera's JWTs with jose and serves RFC 9728 metadata; then against the same MCP server broken
 * one way at a time, and a fake authorization server, each making its row fail.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { canaryResource } from '../../src/cli/mcp-doctor.ts';
import { runCli, type CliResult } from '../fixtures/cli.ts';
import { startServer, type RunningServer } from '../fixtures/server.ts';

const SECRET = 'doctor-secret-0123456789abcdef012';
const LOOSE_SECRET = 'loose-secret-0123456789abcdef0123';
const APP_ORIGIN = 'https://app.mcp-doctor.test';

/** How the test MCP server behaves; each field breaks one thing when changed from the default. */
interface Behaviour {
  /** full: Bearer with resource_metadata; bare: Bearer alone; none: 401 without WWW-Authenticate. */
  challenge: 'full' | 'bare' | 'none';
  /** The authorization_servers of its metadata (default: Tessera's issuer). */
  authorizationServers?: string[];
  /** The resource of its metadata (default: its own URL). */
  resource?: string;
  /** Serve the protected resource metadata at all. */
  metadata: boolean;
  /** Check that the token's aud names this server (RFC 8707): false accepts any audience. */
  checkAudience: boolean;
  /** The issuer tokens must come from (default: Tessera's). */
  trustedIssuer?: string;
  /** Accept any bearer token without verifying it. */
  acceptAnything: boolean;
  /** CORS on the metadata (any origin, no credentials). */
  cors: boolean;
  /** A fake authorization server's RFC 8414 metadata, served at /.well-known/oauth-authorization-server. */
  fakeAs?: Record<string, unknown>;
}

const HEALTHY: Behaviour = {
  challenge: 'full',
  metadata: true,
  checkAudience: true,
  acceptAnything: false,
  cors: true,
};

interface McpFixture {
  url: string;
  origin: string;
  behaviour: Behaviour;
  issuer: string;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

/** A real MCP server (one tool) protected by Tessera's tokens. */
async function startMcp(): Promise<McpFixture> {
  const fx = { behaviour: { ...HEALTHY }, issuer: '' } as McpFixture;
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  const corsHeaders = (res: ServerResponse) => {
    if (!fx.behaviour.cors) return;
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
    res.setHeader('access-control-allow-headers', 'authorization, content-type, mcp-protocol-version');
    res.setHeader('access-control-expose-headers', 'www-authenticate');
  };
  const refuse = (res: ServerResponse, error?: string) => {
    const b = fx.behaviour;
    const metadata = `${fx.origin}/.well-known/oauth-protected-resource/mcp`;
    const params = [
      ...(b.challenge === 'full' ? [`resource_metadata="${metadata}"`] : []),
      ...(error ? [`error="${error}"`] : []),
    ];
    if (b.challenge !== 'none')
      res.setHeader('www-authenticate', `Bearer${params.length ? ` ${params.join(', ')}` : ''}`);
    res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: error ?? 'unauthorized' }));
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', fx.origin).pathname;
      const b = fx.behaviour;
      corsHeaders(res);
      if (req.method === 'OPTIONS') return void res.writeHead(b.cors ? 204 : 405).end();
      if (path === '/.well-known/oauth-protected-resource/mcp' && req.method === 'GET' && b.metadata) {
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            resource: b.resource ?? fx.url,
            authorization_servers: b.authorizationServers ?? [fx.issuer],
            scopes_supported: ['mcp.tools'],
            bearer_methods_supported: ['header'],
          }),
        );
      }
      if (path === '/.well-known/oauth-authorization-server' && b.fakeAs) {
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(b.fakeAs));
      }
      if (path === '/fake-token' && req.method === 'POST') {
        return void res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
      }
      if (path !== '/mcp') return void res.writeHead(404).end();
      const body = req.method === 'POST' ? await readBody(req) : undefined;
      const token = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (!token) return refuse(res);
      if (!b.acceptAnything) {
        try {
          jwks ??= createRemoteJWKSet(new URL(`${fx.issuer}/jwks`));
          await jwtVerify(token, jwks, {
            issuer: b.trustedIssuer ?? fx.issuer,
            typ: 'at+jwt',
            ...(b.checkAudience ? { audience: fx.url } : {}),
          });
        } catch {
          return refuse(res, 'invalid_token');
        }
      }
      const mcp = new McpServer({ name: 'doctor-test', version: '1.0.0' });
      mcp.registerTool('ping', { description: 'Answers pong' }, async () => ({
        content: [{ type: 'text', text: 'pong' }],
      }));
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => {
        void transport.close();
        void mcp.close();
      });
      await mcp.connect(transport);
      await transport.handleRequest(req, res, body);
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  fx.origin = `http://127.0.0.1:${port}`;
  fx.url = `${fx.origin}/mcp`;
  fx.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return fx;
}

interface Row {
  id: string;
  level: 'MUST' | 'SHOULD';
  outcome: 'pass' | 'fail' | 'skip';
  section: string;
  reason: string;
}

describe('tessera mcp doctor', () => {
  let tessera: RunningServer;
  let mcp: McpFixture;

  before(async () => {
    mcp = await startMcp();
    tessera = await startServer({
      bootstrap: {
        clients: [
          {
            client_id: 'doctor',
            client_secret: SECRET,
            token_endpoint_auth_method: 'client_secret_basic',
            grant_types: ['client_credentials'],
            scope: 'mcp.tools',
            // The MCP server, and the canary audience of rs-refuses-other-audience.
            allowed_resources: [mcp.url, canaryResource(mcp.url)],
          },
          // No allowed_resources: Tessera issues tokens for any resource it names.
          {
            client_id: 'loose',
            client_secret: LOOSE_SECRET,
            token_endpoint_auth_method: 'client_secret_basic',
            grant_types: ['client_credentials'],
            scope: 'mcp.tools',
          },
          // Its redirect URI's origin is one the token endpoint answers CORS requests from.
          {
            client_id: 'spa',
            token_endpoint_auth_method: 'none',
            grant_types: ['authorization_code', 'refresh_token'],
            redirect_uris: [`${APP_ORIGIN}/callback`],
            scope: 'openid mcp.tools',
          },
        ],
      },
    });
    mcp.issuer = tessera.issuer;
  });
  after(async () => {
    await tessera?.stop();
    await mcp?.close();
  });
  const reset = (b: Partial<Behaviour> = {}) => {
    mcp.behaviour = { ...HEALTHY, ...b };
  };

  /** Runs the doctor with --json (and the secret on stdin when `input` is given); its rows parsed. */
  async function doctor(args: string[], input = ''): Promise<CliResult & { rows: Row[]; warnings?: string[] }> {
    const res = await runCli(
      ['mcp', 'doctor', '--resource', mcp.url, '--json', ...args],
      { TESSERA_ISSUER: tessera.issuer },
      input,
    );
    let parsed: { rows: Row[]; warnings?: string[] } = { rows: [] };
    try {
      parsed = JSON.parse(res.out) as typeof parsed;
    } catch {
      assert.fail(`not JSON (exit ${res.code}):\n${res.out}\n${res.err}`);
    }
    return { ...res, ...parsed };
  }
  const credentials = ['--client-id', 'doctor', '--client-secret-stdin'];
  const row = (rows: Row[], id: string): Row => {
    const found = rows.find((r) => r.id === id);
    assert.ok(found, `no row ${id} in ${rows.map((r) => r.id).join(', ')}`);
    return found;
  };
  const outcome = (rows: Row[], id: string) => row(rows, id).outcome;

  it('passes every MUST against a healthy MCP server and Tessera, with a real audience round trip', async () => {
    reset();
    const run = await doctor([...credentials, '--origin', APP_ORIGIN], SECRET);
    const all = run.rows;
    const failed = all.filter((r) => r.level === 'MUST' && r.outcome !== 'pass');
    assert.deepEqual(failed, [], run.out);
    assert.equal(run.code, 0, run.err);
    for (const id of [
      'challenge-401',
      'challenge-resource-metadata',
      'prm-well-known',
      'prm-document',
      'prm-resource',
      'prm-authorization-servers',
      'as-metadata',
      'as-pkce-s256',
      'as-iss-parameter',
      'token-obtained',
      'token-audience',
      'rs-accepts-token',
      'rs-refuses-invalid-token',
      'rs-refuses-other-audience',
      'as-invalid-target',
      'cors-prm',
      'cors-token',
    ])
      assert.equal(outcome(all, id), 'pass', `${id}: ${row(all, id).reason}`);
    // Discovery answers a plain GET from any origin; its preflight (for the MCP-Protocol-Version header
    // MCP SDK clients send) is the CORS work of another part of the MCP issue: pass or fail, the GET is seen.
    assert.match(row(all, 'cors-as-metadata').reason, /allows Origin https:\/\/app|a plain GET is allowed, but/);
    // The section names the MCP revision (latest by default) and the RFC.
    assert.match(row(all, 'challenge-resource-metadata').section, /^MCP 2026-07-28 .*RFC 9728 §5\.1/);
    assert.match(row(all, 'as-invalid-target').reason, /invalid_target/);
    // The token of another audience is one for the canary under the resource, not the default audience.
    assert.match(
      row(all, 'rs-refuses-other-audience').reason,
      /tessera-doctor-canary \(not the resource\) gets HTTP 401/,
    );
    // Both tokens the doctor obtained were revoked: no warning.
    assert.equal(run.warnings, undefined);

    // The table form: one line per row, MUST/SHOULD and PASS/FAIL/SKIP, and the summary.
    const text = await runCli(
      ['mcp', 'doctor', '--resource', mcp.url, '--issuer', tessera.issuer, '--profile', '2025-06-18'],
      {},
    );
    assert.equal(text.code, 0, text.out + text.err);
    assert.match(text.out, /against MCP 2025-06-18/);
    assert.match(
      text.out,
      /^PASS\s+MUST\s+challenge-401\s+MCP 2025-06-18 "Authorization Server Location"; RFC 6750 §3/m,
    );
    assert.match(text.out, /^SKIP\s+MUST\s+token-obtained .*give --token or --client-id/m);
    assert.match(text.out, /every MUST passed: MUST \d+ pass, 0 fail/);
  });

  it('fails the challenge rows for a 401 without a challenge, or without resource_metadata under 2025-06-18', async () => {
    reset({ challenge: 'none' });
    let r = await doctor([]);
    assert.equal(outcome(r.rows, 'challenge-401'), 'fail');
    assert.match(row(r.rows, 'challenge-401').reason, /without a Bearer challenge/);
    assert.equal(r.code, 1);

    reset({ challenge: 'bare' });
    r = await doctor(['--profile', '2025-06-18']);
    assert.equal(outcome(r.rows, 'challenge-401'), 'pass');
    assert.deepEqual(
      { ...row(r.rows, 'challenge-resource-metadata'), section: '' },
      {
        id: 'challenge-resource-metadata',
        level: 'MUST',
        outcome: 'fail',
        section: '',
        reason: 'the challenge has no resource_metadata parameter',
      },
    );
    assert.equal(r.code, 1);
    // From 2025-11-25 on, the well-known URL may stand in for the header: a SHOULD only.
    r = await doctor(['--profile', '2025-11-25']);
    assert.equal(row(r.rows, 'challenge-resource-metadata').level, 'SHOULD');
    assert.equal(outcome(r.rows, 'challenge-resource-metadata'), 'fail');
    assert.equal(row(r.rows, 'prm-well-known').level, 'MUST');
    assert.equal(outcome(r.rows, 'prm-well-known'), 'pass');
    assert.equal(r.code, 0, JSON.stringify(r.rows.filter((x) => x.outcome === 'fail')));
  });

  it('fails the metadata rows: missing, wrong resource, authorization_servers without this Tessera', async () => {
    reset({ metadata: false });
    let r = await doctor([]);
    assert.equal(outcome(r.rows, 'prm-document'), 'fail');
    assert.equal(outcome(r.rows, 'prm-well-known'), 'fail');
    assert.match(row(r.rows, 'prm-document').reason, /HTTP 404/);
    assert.equal(r.code, 1);

    reset({ resource: `${mcp.origin}/other` });
    r = await doctor([]);
    assert.equal(outcome(r.rows, 'prm-resource'), 'fail');
    assert.match(row(r.rows, 'prm-resource').reason, /not the canonical/);
    assert.equal(outcome(r.rows, 'prm-authorization-servers'), 'pass');
    assert.equal(r.code, 1);

    reset({ authorizationServers: ['https://someone-else.example'] });
    r = await doctor([]);
    assert.equal(outcome(r.rows, 'prm-authorization-servers'), 'fail');
    assert.match(row(r.rows, 'prm-authorization-servers').reason, /without http:\/\/localhost:\d+/);
    assert.equal(r.code, 1);
  });

  it('fails the audience round trip for an MCP server that accepts a token of another audience', async () => {
    reset({ checkAudience: false });
    const { rows, ...run } = await doctor(credentials, SECRET);
    assert.equal(outcome(rows, 'rs-accepts-token'), 'pass');
    assert.equal(outcome(rows, 'rs-refuses-other-audience'), 'fail');
    assert.match(row(rows, 'rs-refuses-other-audience').reason, /was accepted/);
    assert.equal(run.code, 1);
  });

  it('fails when the MCP server refuses a good token, or takes anything', async () => {
    reset({ trustedIssuer: 'https://not-tessera.example' });
    let r = await doctor(credentials, SECRET);
    assert.equal(outcome(r.rows, 'token-obtained'), 'pass');
    assert.equal(outcome(r.rows, 'rs-accepts-token'), 'fail');
    assert.match(row(r.rows, 'rs-accepts-token').reason, /refused: HTTP 401/);
    assert.equal(r.code, 1);

    reset({ acceptAnything: true });
    r = await doctor([]);
    assert.equal(outcome(r.rows, 'rs-refuses-invalid-token'), 'fail');
    assert.equal(r.code, 1);
  });

  it('fails token-audience for a given token of another audience, and invalid_target for a client with no resource limit', async () => {
    reset();
    // A token for the default audience (the issuer), from the loose client.
    const res = await fetch(`${tessera.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`loose:${LOOSE_SECRET}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    const { access_token } = (await res.json()) as { access_token: string };
    let r = await doctor(['--token-stdin'], access_token);
    assert.equal(outcome(r.rows, 'token-obtained'), 'skip');
    assert.doesNotMatch(r.err, /process list/);
    const onCommandLine = await doctor(['--token', access_token]);
    assert.equal(outcome(onCommandLine.rows, 'token-audience'), 'fail', 'the same token, given on the command line');
    assert.match(onCommandLine.err, /--token leaves the token in your shell history and the process list/);
    assert.equal(outcome(r.rows, 'token-audience'), 'fail');
    assert.match(row(r.rows, 'token-audience').reason, /lacks http:\/\/127\.0\.0\.1:\d+\/mcp/);
    assert.equal(outcome(r.rows, 'rs-accepts-token'), 'fail');
    assert.equal(r.code, 1);

    r = await doctor(['--client-id', 'loose', '--client-secret-stdin'], LOOSE_SECRET);
    assert.equal(outcome(r.rows, 'token-obtained'), 'pass');
    assert.equal(outcome(r.rows, 'as-invalid-target'), 'fail');
    assert.match(row(r.rows, 'as-invalid-target').reason, /with a token/);
    assert.equal(r.code, 1);
    assert.equal(r.warnings, undefined); // the token for the unknown resource was revoked too

    // Wrong credentials: no token.
    r = await doctor(['--client-id', 'doctor', '--client-secret', 'wrong-secret']);
    assert.equal(outcome(r.rows, 'token-obtained'), 'fail');
    assert.match(row(r.rows, 'token-obtained').reason, /HTTP 401 invalid_client/);
    assert.match(r.err, /shell history/);
  });

  it('fails the CORS rows: no CORS on the metadata, a token endpoint closed to an unknown origin', async () => {
    reset({ cors: false });
    const r = await doctor([]);
    assert.equal(outcome(r.rows, 'cors-prm'), 'fail');
    assert.match(
      row(r.rows, 'cors-prm').reason,
      /GET to .* no matching Access-Control-Allow-Origin; the preflight .* HTTP 405/,
    );
    // Discovery is open to any origin; the token endpoint only to clients' origins (TESSERA_CORS_ANY_ORIGIN off).
    assert.match(row(r.rows, 'cors-as-metadata').reason, /allows Origin|a plain GET is allowed/);
    assert.equal(outcome(r.rows, 'cors-token'), 'fail');
    assert.equal(row(r.rows, 'cors-token').level, 'SHOULD');
    assert.equal(r.code, 0);
  });

  it('fails the authorization server rows against a server without S256, iss or registration', async () => {
    reset({
      authorizationServers: [mcp.origin],
      fakeAs: {
        issuer: mcp.origin,
        authorization_endpoint: `${mcp.origin}/authorize`,
        token_endpoint: `${mcp.origin}/fake-token`,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['plain'],
      },
    });
    const { rows, ...run } = await doctor(['--issuer', mcp.origin, ...credentials], SECRET);
    assert.equal(outcome(rows, 'as-metadata-rfc8414'), 'pass');
    assert.equal(outcome(rows, 'as-metadata-oidc'), 'fail');
    assert.equal(outcome(rows, 'as-pkce-s256'), 'fail');
    assert.match(row(rows, 'as-pkce-s256').reason, /\["plain"\]: MCP clients must refuse/);
    assert.equal(outcome(rows, 'as-iss-parameter'), 'fail');
    assert.equal(outcome(rows, 'as-cimd'), 'fail');
    assert.equal(outcome(rows, 'as-dcr'), 'fail');
    assert.equal(outcome(rows, 'token-obtained'), 'fail');
    assert.equal(outcome(rows, 'as-https'), 'pass'); // loopback http
    assert.equal(run.code, 1);

    // A token endpoint on another origin than the issuer's: the secret is not sent there.
    // (Requests without credentials, such as CORS preflights, may reach it.)
    let reached = 0;
    const canary = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (req.headers.authorization !== undefined || body.includes(SECRET) || body.includes('client_secret'))
          reached++;
        res.writeHead(400).end();
      });
    });
    await new Promise<void>((done) => canary.listen(0, '127.0.0.1', done));
    try {
      const elsewhere = `http://127.0.0.1:${(canary.address() as AddressInfo).port}`;
      reset({
        authorizationServers: [mcp.origin],
        fakeAs: {
          issuer: mcp.origin,
          authorization_endpoint: `${mcp.origin}/authorize`,
          token_endpoint: `${elsewhere}/token`,
          revocation_endpoint: `${elsewhere}/revoke`,
          response_types_supported: ['code'],
          code_challenge_methods_supported: ['S256'],
        },
      });
      const moved = await doctor(['--issuer', mcp.origin, ...credentials], SECRET);
      assert.equal(outcome(moved.rows, 'token-obtained'), 'fail');
      assert.match(row(moved.rows, 'token-obtained').reason, /credentials not sent/);
      assert.equal(reached, 0, 'no request with credentials reached the other origin');
    } finally {
      canary.close();
    }

    // The metadata names another issuer than the one it is fetched for.
    reset({ authorizationServers: [mcp.origin], fakeAs: { issuer: 'https://elsewhere.example' } });
    const other = await doctor(['--issuer', mcp.origin]);
    assert.equal(outcome(other.rows, 'as-metadata-rfc8414'), 'fail');
    assert.match(row(other.rows, 'as-metadata-rfc8414').reason, /names the issuer "https:\/\/elsewhere.example"/);
    assert.equal(outcome(other.rows, 'as-metadata'), 'fail');
    assert.equal(other.code, 1);
  });

  it('fails the URL rows for plain http off loopback', async () => {
    reset();
    const port = new URL(mcp.url).port;
    const res = await runCli(
      ['mcp', 'doctor', '--json', '--resource', `http://127.0.0.2:${port}/mcp`, '--issuer', `http://127.0.0.2:${port}`],
      {},
    );
    const { rows } = JSON.parse(res.out) as { rows: Row[] };
    assert.equal(outcome(rows, 'resource-url'), 'fail');
    assert.equal(outcome(rows, 'as-https'), 'fail');
    assert.equal(outcome(rows, 'challenge-401'), 'fail');
    assert.equal(res.code, 1);
  });

  it('sends client credentials only to an issuer the operator named, not to one the MCP server names', async () => {
    reset();
    // No --issuer and no usable configuration (production without its secrets): the issuer comes
    // from the MCP server's metadata, which is checked, but gets no credentials.
    const res = await runCli(
      ['mcp', 'doctor', '--json', '--resource', mcp.url, ...credentials],
      { TESSERA_ENV: 'production' },
      SECRET,
    );
    const { rows } = JSON.parse(res.out) as { rows: Row[] };
    assert.equal(outcome(rows, 'prm-authorization-servers'), 'pass');
    assert.equal(outcome(rows, 'as-pkce-s256'), 'pass');
    assert.equal(outcome(rows, 'token-obtained'), 'skip');
    assert.match(row(rows, 'token-obtained').reason, /not sent to an issuer the MCP server named/);
    assert.equal(outcome(rows, 'as-invalid-target'), 'skip');
    assert.equal(res.code, 0);
  });

  it('refuses bad usage with exit code 2', async () => {
    for (const [args, message] of [
      [['--profile', '2025-03-26'], /2025-03-26 is not supported/],
      [['--profile', 'nope'], /--profile must be one of/],
      [['--client-id', 'doctor'], /go together/],
      [['--origin', 'https://x.example/path'], /--origin must be an origin/],
    ] as const) {
      const res = await runCli(['mcp', 'doctor', '--resource', mcp.url, ...args], { TESSERA_ISSUER: tessera.issuer });
      assert.equal(res.code, 2, res.err);
      assert.match(res.err, message);
    }
    const none = await runCli(['mcp', 'doctor'], {});
    assert.equal(none.code, 2);
    assert.match(none.err, /--resource is required/);
  });
});
