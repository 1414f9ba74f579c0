// What a Client ID Metadata Document client costs at the token endpoint once its document is cached, against registered
// clients of the same kind: one made by the operator, and one made by dynamic registration (which, like a CIMD client,
// is held to the rules of self-registered clients). All are public clients (none), all use refresh-token rotation (the
// token request a public client makes over and over), on ONE Tessera process, measured in interleaved runs (the order
// rotates from run to run); each ratio is the median of the runs' ratios. The document is served over HTTPS by this
// process with a CA of its own (trusted by Tessera through NODE_EXTRA_CA_CERTS) on loopback, which only development
// mode may reach (TESSERA_CIMD_ALLOW_LOOPBACK), so this Tessera runs in development mode; both clients see the same
// server.
//
//   node bench/cimd.ts [--runs 5] [--duration 4] [--connections 16] [--no-pin]
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makePki } from '../test/fixtures/certs.ts';
import { FLOW_SCOPE, makeFixtures, REDIRECT_URI, RESOURCE_SCOPE } from './lib/fixtures.ts';
import { codeFlows, type FlowTarget } from './lib/flow.ts';
import { pinningPlan, pinSelf, type Machine } from './lib/machine.ts';
import { median, round } from './lib/runner.ts';
import { startTessera } from './lib/servers.ts';
import { autocannonDriver } from './load/autocannon.ts';
import type { LoadResult, RefreshWorkload } from './load/types.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    duration: { type: 'string', default: '4' },
    connections: { type: 'string', default: '16' },
    'no-pin': { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const durationS = Number(values.duration);
const connections = Number(values.connections);
const pinning = pinningPlan(!values['no-pin']);
pinSelf(pinning);
const log = (s: string) => process.stdout.write(`${s}\n`);

const pki = makePki();
let fetches = 0;
const docServer = createServer({ cert: pki.server.certPem, key: pki.server.keyPem }, (req, res) => {
  fetches++;
  if (req.url !== '/bench/client.json') return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=86400' });
  res.end(
    JSON.stringify({
      client_id: documentUrl,
      client_name: 'Bench CIMD client',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'none',
      scope: FLOW_SCOPE,
    }),
  );
});
await new Promise<void>((r) => docServer.listen(0, '127.0.0.1', r));
const documentUrl = `https://localhost:${(docServer.address() as AddressInfo).port}/bench/client.json`;

const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-cimd-'));
const fixtures = makeFixtures();
const registered = { id: 'bench-public', secret: '' };
const server = await startTessera(
  { pinning } as Machine,
  fixtures,
  dir,
  {},
  {
    NODE_ENV: 'development',
    TESSERA_ENV: 'development',
    TESSERA_CLIENT_ID_METADATA_DOCUMENTS: 'on',
    TESSERA_CIMD_ALLOW_LOOPBACK: 'true',
    TESSERA_REGISTRATION: 'open',
    NODE_EXTRA_CA_CERTS: pki.caFile,
    // The same ceiling for both clients (TESSERA_REGISTRATION_SCOPES binds the CIMD one).
    TESSERA_REGISTRATION_SCOPES: FLOW_SCOPE,
  },
  [
    {
      client_id: registered.id,
      client_name: 'Bench public client',
      token_endpoint_auth_method: 'none',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      scope: `openid profile email offline_access ${RESOURCE_SCOPE}`,
    },
  ],
);

// The dynamically registered client, registered as an MCP client would.
const registration = await fetch(`${server.issuer}/register`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    client_name: 'Bench DCR client',
    redirect_uris: [REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'none',
    scope: FLOW_SCOPE,
  }),
});
if (registration.status !== 201) throw new Error(`registration: ${registration.status} ${await registration.text()}`);
const dcrId = ((await registration.json()) as { client_id: string }).client_id;

const driver = autocannonDriver(pinning);
const target = (id: string): FlowTarget => ({
  issuer: server.issuer,
  authorizationEndpoint: server.endpoints.authorization,
  tokenEndpoint: server.endpoints.token,
  client: { id, secret: '' },
  redirectUri: REDIRECT_URI,
  user: fixtures.user,
});
/** A fresh chain of refresh tokens per connection, each from its own code flow. */
const workload = async (id: string): Promise<RefreshWorkload> => ({
  kind: 'refresh',
  url: server.endpoints.token,
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  bodyPrefix: `client_id=${encodeURIComponent(id)}&`,
  tokens: (await codeFlows(target(id), FLOW_SCOPE, connections)).map((f) => f.tokens.refresh_token!),
});
const rate = (r: LoadResult) => r.ok / r.durationS;

try {
  log(`Tessera ${server.issuer} (development mode), pinning: ${pinning.reason}`);
  log(`${runs} interleaved runs x ${durationS} s, ${connections} connections, autocannon, refresh-token rotation`);
  // Warm-up: every client, and the document fetched once (then cached for its max-age).
  const clients = { registered: registered.id, dcr: dcrId, cimd: documentUrl } as const;
  type Kind = keyof typeof clients;
  const kinds = Object.keys(clients) as Kind[];
  for (const k of kinds) await driver.run(await workload(clients[k]), { durationS: 1, connections });
  const runsOf: Record<Kind, number>[] = [];
  for (let i = 0; i < runs; i++) {
    // The order rotates, so a machine that drifts within a run favours no client.
    const order = kinds.map((_, j) => kinds[(i + j) % kinds.length]!);
    const got = {} as Record<Kind, number>;
    for (const k of order) {
      const r = await driver.run(await workload(clients[k]), { durationS, connections });
      if (r.failed) throw new Error(`${k}: ${r.failed} failures (${r.firstError})`);
      got[k] = rate(r);
    }
    runsOf.push(got);
    log(`run ${i + 1}: ${kinds.map((k) => `${k} ${round(got[k], 0)}/s`).join(', ')}`);
  }
  const med = (k: Kind) => round(median(runsOf.map((r) => r[k])), 0);
  const ratio = (a: Kind, b: Kind) => median(runsOf.map((r) => r[a] / r[b]));
  log(`median: ${kinds.map((k) => `${k} ${med(k)}/s`).join(', ')}`);
  const vsOperator = ratio('cimd', 'registered');
  const vsDcr = ratio('cimd', 'dcr');
  log(`CIMD/operator-registered ${round(vsOperator, 3)}; CIMD/dynamically registered ${round(vsDcr, 3)}`);
  log(`document fetches: ${fetches} (cached for its max-age after the first)`);
  log(`within 5% of a dynamically registered client: ${vsDcr >= 0.95 ? 'yes' : 'NO'}`);
  log(`within 5% of an operator-registered client: ${vsOperator >= 0.95 ? 'yes' : 'NO'}`);
} finally {
  await server.stop();
  docServer.close();
  pki.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
