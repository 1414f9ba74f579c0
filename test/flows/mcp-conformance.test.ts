/**
 * The MCP project's conformance package (`@modelcontextprotocol/conformance`, 0.2.0-alpha.12) in its
 * authorization-server mode (`conformance authorization`) against a Tessera started here. The package
 * runs its scenarios one after the other; the authorization code scenario prints an authorization URL
 * for a person to open and waits for the redirect on its own callback server at
 * http://127.0.0.1:PORT/callback: the person is headless Chromium on Tessera's real pages. Every
 * check of every scenario must pass; the warnings it may give are listed below, each explained (and in
 * docs/mcp.md, "Tested with the real thing").
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { freePort, startServer, type RunningServer } from '../fixtures/server.ts';
import { browserSkip, decide, launchBrowser, screen, signIn, type Screen } from './support.ts';

// ---- THE ONE PLACE FOR THE MCP PROFILE -----------------------------------------------------------
// Tessera on its defaults plus the profile switch only.
const MCP_PROFILE: Record<string, string> = { TESSERA_MCP_PROFILE: 'latest' };

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const PASSWORD = 'correct horse battery staple conformance';
/** The MCP server the conformance run asks a token for (RFC 8707 `resource`): an entry of the registry. */
const RESOURCE = 'https://mcp.example/mcp';
const SCOPE = 'mcp:tools';

/** The authorization-server scenarios of 0.2.0-alpha.12 (`conformance list --authorization`). */
const SCENARIOS = ['authorization-server-metadata-endpoint', 'authorization-code-grant'];

/** The warnings the run may give, each with the reason (docs/mcp.md says the same): none. */
const EXPLAINED_WARNINGS: Record<string, string> = {};

interface Check {
  id: string;
  name: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO';
  errorMessage?: string;
  details?: Record<string, unknown>;
}

interface ConformanceRun {
  code: number | null;
  output: string;
  /** Scenario name -> its checks (from the checks.json the package writes per scenario). */
  checks: Map<string, Check[]>;
  screens: Screen[];
  authorizationUrl?: URL;
}

describe('MCP conformance package, authorization server mode', { skip: browserSkip }, () => {
  let tessera: RunningServer;
  let browser: Browser;
  let dir: string;
  let port: number;
  let run: ConformanceRun;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-mcp-conformance-'));
    port = await freePort();
    [browser, tessera] = await Promise.all([
      launchBrowser(),
      startServer({
        env: { ...MCP_PROFILE, TESSERA_EXTRA_SCOPES: SCOPE },
        bootstrap: {
          users: [{ username: 'conformance-user', password: PASSWORD }],
          resources: [{ identifier: RESOURCE, display_name: 'MCP server', scopes: { [SCOPE]: 'Use the tools' } }],
          // The package's client: pre-registered (it registers nothing), public (it sends no secret),
          // with the redirect URI of its callback server. Its request names no scope: the registered
          // scope is the default (RFC 6749 section 3.3).
          clients: [
            {
              client_id: 'mcp-conformance',
              client_name: 'MCP conformance',
              token_endpoint_auth_method: 'none',
              application_type: 'native',
              redirect_uris: [`http://127.0.0.1:${port}/callback`],
              grant_types: ['authorization_code', 'refresh_token'],
              scope: SCOPE,
            },
          ],
        },
      }),
    ]);
    run = await runConformance();
  });
  after(async () => {
    await browser?.close();
    await tessera?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the package's CLI; when it prints the authorization URL, Chromium acts as the user. */
  async function runConformance(): Promise<ConformanceRun> {
    const out = join(dir, 'results');
    const child = spawn(
      process.execPath,
      [
        CLI,
        'authorization',
        '--url',
        tessera.issuer,
        '--client-id',
        'mcp-conformance',
        '--resource',
        RESOURCE,
        '--port',
        String(port),
        '--output-dir',
        out,
      ],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    let browserStep: Promise<void> | undefined;
    const result: ConformanceRun = { code: null, output: '', checks: new Map(), screens: [] };
    const context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    const onData = (d: Buffer) => {
      output += d.toString('utf8');
      const line = output.split('\n').find((l) => l.startsWith(`${tessera.issuer}/authorize?`));
      if (line && !browserStep) {
        result.authorizationUrl = new URL(line.trim());
        browserStep = (async () => {
          await page.goto(line.trim());
          const callback = `http://127.0.0.1:${port}`;
          for (let i = 0; i < 4; i++) {
            const s = await screen(page, callback);
            result.screens.push(s);
            if (s === 'login') await signIn(page, 'conformance-user', PASSWORD);
            else if (s === 'consent') await decide(page, 'Allow');
            else break;
          }
          // Not at the package's callback: it would wait minutes for it; stop it now, with the page's text.
          if (result.screens.at(-1) !== 'callback') {
            const text = (await page.locator('body').innerText()).slice(0, 300);
            output += `\n[the browser stopped at ${page.url()}: ${text}]`;
            child.kill('SIGKILL');
          }
        })().catch((err: unknown) => {
          output += `\n[browser step failed: ${String(err)}]`;
          child.kill('SIGKILL');
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    result.code = await new Promise((r) => child.once('exit', (code) => r(code)));
    clearTimeout(timer);
    await browserStep;
    await context.close();
    result.output = output;
    for (const d of existsSync(out) ? readdirSync(out, { withFileTypes: true }) : []) {
      const scenario = SCENARIOS.find((s) => d.name.startsWith(`authorization-server-${s}-`));
      const file = join(out, d.name, 'checks.json');
      // A scenario stopped half-way (the package killed) has its folder but no checks.json.
      if (d.isDirectory() && scenario && existsSync(file))
        result.checks.set(scenario, JSON.parse(readFileSync(file, 'utf8')) as Check[]);
    }
    return result;
  }

  const describeChecks = () =>
    [...run.checks.entries()]
      .map(([s, cs]) => `${s}: ${cs.map((c) => `${c.id}=${c.status}${c.errorMessage ? ` (${c.errorMessage})` : ''}`)}`)
      .join('\n');

  it('runs every authorization-server scenario of the package', () => {
    assert.deepEqual([...run.checks.keys()].sort(), [...SCENARIOS].sort(), run.output);
  });

  it('authorization-server-metadata-endpoint: every check passes, warnings only the explained ones', () => {
    const checks = run.checks.get('authorization-server-metadata-endpoint') ?? [];
    const metadata = checks.find((c) => c.id === 'authorization-server-metadata');
    assert.equal(metadata?.status, 'SUCCESS', describeChecks());
    for (const c of checks) {
      if (c.status === 'WARNING') assert.ok(EXPLAINED_WARNINGS[c.id], `unexplained warning ${c.id}: ${c.errorMessage}`);
      else assert.equal(c.status, 'SUCCESS', `${c.id}: ${c.errorMessage}`);
    }
  });

  it("authorization-code-grant: Tessera's pages in the browser, the code at the callback, the token", () => {
    const checks = run.checks.get('authorization-code-grant') ?? [];
    assert.deepEqual(
      checks.map((c) => [c.id, c.status]),
      [['authorization-code-grant', 'SUCCESS']],
      `${describeChecks()}\n${run.output}`,
    );
    assert.deepEqual(run.screens, ['login', 'consent', 'callback']);
    // What the package sent: PKCE S256 and the resource, no scope (the registered one applied).
    const q = run.authorizationUrl!.searchParams;
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.equal(q.get('resource'), RESOURCE);
    assert.equal(q.get('scope'), null);
    const details = checks[0]!.details as { authorizationResponseUrl: string; body: Record<string, unknown> };
    assert.equal(new URL(details.authorizationResponseUrl).searchParams.get('iss'), tessera.issuer);
    assert.equal(details.body.token_type, 'Bearer');
    assert.equal(details.body.scope, SCOPE);
  });

  it('the whole run exits 0 and counts no failure', () => {
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /Total: \d+ passed, 0 failed/);
  });

  it('no warning at all (Client ID Metadata Documents advertised)', () => {
    const warnings = [...run.checks.values()].flat().filter((c) => c.status === 'WARNING');
    assert.deepEqual(
      warnings.map((c) => c.id),
      [],
    );
  });
});
