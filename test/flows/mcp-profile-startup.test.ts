/**
 * The real server started with the MCP profile: the start-up says what the profile changed (one line
 * per setting, `profile` or `explicit`), the log has the effective settings without secrets, and the
 * profile's defaults are live (discovery advertises registration).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../fixtures/server.ts';
import { mcpProfileDefaults } from '../../src/config/mcp-profile.ts';

const ADMIN_TOKEN = 'Zq8wX2vB6nM4kL0pR7tY3uI9oE5aS1dF7gH2jK4';

describe('start-up with TESSERA_MCP_PROFILE', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({
      env: {
        TESSERA_MCP_PROFILE: 'latest',
        TESSERA_REFRESH_REUSE_GRACE: '10',
        TESSERA_ADMIN_TOKEN: ADMIN_TOKEN,
        TESSERA_LOG_LEVEL: 'info',
      },
    });
  });
  after(async () => {
    await server?.stop();
  });

  it('prints one line per setting of the profile, profile or explicit, and logs the effective settings', async () => {
    // /health can answer before the log line has come through the pipe.
    const out = await server.waitForOutput(/"event":"config_effective"/);
    assert.match(out, /^MCP profile latest = 2026-07-28 \(TESSERA_MCP_PROFILE; docs\/mcp\.md\):$/m);
    assert.match(out, /^ {2}TESSERA_REGISTRATION=open {2}\(profile\)$/m);
    assert.match(out, /^ {2}TESSERA_CLIENT_ID_METADATA_DOCUMENTS=on {2}\(profile\)$/m);
    assert.match(out, /^ {2}TESSERA_REFRESH_REUSE_GRACE=10 {2}\(explicit; the profile's value is 30\)$/m);
    assert.equal(
      out.match(/^ {2}TESSERA_[A-Z_]+=.* {2}\((profile|explicit)/gm)?.length,
      Object.keys(mcpProfileDefaults('latest')).length,
    );
    const record = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((r) => r.event === 'config_effective');
    assert.ok(record, 'the effective configuration is logged');
    const settings = record.settings as Record<string, { value: string; source: string }>;
    assert.deepEqual(settings.TESSERA_MCP_PROFILE, { value: 'latest', source: 'env' });
    assert.deepEqual(settings.TESSERA_CORS_ANY_ORIGIN, { value: 'true', source: 'profile' });
    assert.deepEqual(settings.TESSERA_ADMIN_TOKEN, { value: '(redacted)', source: 'env' });
    assert.ok(!out.includes(ADMIN_TOKEN), 'the admin token was printed');
    assert.ok(!('TESSERA_ACCESS_TOKEN_TTL' in settings), 'settings at their defaults are left out');
  });

  it("the profile's defaults are live: discovery advertises registration", async () => {
    const res = await fetch(`${server.issuer}/.well-known/oauth-authorization-server`);
    assert.equal(res.status, 200);
    const meta = (await res.json()) as Record<string, unknown>;
    assert.equal(meta.registration_endpoint, `${server.issuer}/register`);
  });
});
