// What a Client ID Metadata Document client costs at the token endpoint once its document is
// cached, against a registered client of the same kind. Both are public clients (none), both use
// refresh-token rotation (the token request a public client makes over and over), on ONE Tessera
// process, measured in interleaved runs (registered then CIMD, then CIMD then registered, ...); the ratio is the
// median of the paired runs' ratios. The document is served over HTTPS by this process with a CA
// of its own (trusted by Tessera through NODE_EXTRA_CA_CERTS) on loopback, which only development
// mode may reach (TESSERA_CIMD_ALLOW_LOOPBACK), so this Tessera runs in development mode; both
// clients see the same server.
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
  // Warm-up: both clients, and the document fetched once (then cached for its max-age).
  for (const id of [registered.id, documentUrl]) await driver.run(await workload(id), { durationS: 1, connections });
  const pairs: { reg: number; cimd: number }[] = [];
  for (let i = 0; i < runs; i++) {
    // Alternating which goes first (ABBA), so a machine that drifts within a pair favours neither.
    const measure = async (id: string) => driver.run(await workload(id), { durationS, connections });
    let reg: LoadResult;
    let cimd: LoadResult;
    if (i % 2 === 0) {
      reg = await measure(registered.id);
      cimd = await measure(documentUrl);
    } else {
      cimd = await measure(documentUrl);
      reg = await measure(registered.id);
    }
    if (reg.failed || cimd.failed)
      throw new Error(
        `failures: registered ${reg.failed} (${reg.firstError}), CIMD ${cimd.failed} (${cimd.firstError})`,
      );
    pairs.push({ reg: rate(reg), cimd: rate(cimd) });
    log(`run ${i + 1}: registered ${round(rate(reg), 0)}/s, CIMD ${round(rate(cimd), 0)}/s`);
  }
  const ratio = median(pairs.map((p) => p.cimd / p.reg));
  log(
    `median: registered ${round(median(pairs.map((p) => p.reg)), 0)}/s, CIMD ${round(median(pairs.map((p) => p.cimd)), 0)}/s; CIMD/registered ${round(ratio, 3)}`,
  );
  log(`document fetches: ${fetches} (cached for its max-age after the first)`);
  log(ratio >= 0.95 ? 'within 5%: yes' : 'within 5%: NO');
} finally {
  await server.stop();
  docServer.close();
  pki.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
