/**
 * `tessera resource` for MCP servers, run for real on SQLite: the identifier stored in canonical
 * form, the scope hierarchy (--parent) written, shown, kept by update and refused when wrong.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { sqliteTempUrl } from '../fixtures/db.ts';
import { runCli } from '../fixtures/cli.ts';

describe('tessera resource: canonical identifiers and the scope hierarchy', () => {
  const env = { DATABASE_URL: sqliteTempUrl(), TESSERA_EXTRA_SCOPES: 'files files:read files:write' };
  const cli = (args: string[]) => runCli(args, env);
  before(async () => {
    const r = await cli(['migrate']);
    assert.equal(r.code, 0, r.err);
  });

  it('create stores the canonical identifier and the parents; show prints them; update keeps or replaces them', async () => {
    const created = await cli([
      'resource',
      'create',
      '--identifier',
      'HTTPS://MCP.Example.com:443/mcp',
      '--name',
      'Files MCP',
      '--scope',
      'files=All your files',
      '--scope',
      'files:read=Read your files',
      '--scope',
      'files:write=Change your files',
      '--parent',
      'files:read=files',
      '--parent',
      'files:write=files',
    ]);
    assert.equal(created.code, 0, created.err);
    const shown = JSON.parse(created.out);
    assert.equal(shown.identifier, 'https://mcp.example.com/mcp');
    assert.deepEqual(shown.scopes, {
      files: 'All your files',
      'files:read': { description: 'Read your files', parent: 'files' },
      'files:write': { description: 'Change your files', parent: 'files' },
    });
    // Any spelling names the stored resource.
    for (const spelling of ['https://mcp.example.com/mcp', 'https://MCP.example.com/mcp']) {
      const again = await cli(['resource', 'create', '--identifier', spelling, '--name', 'x']);
      assert.equal(again.code, 1);
      assert.match(again.err, /resource https:\/\/mcp\.example\.com\/mcp already exists/);
    }
    // An update of something else keeps the hierarchy.
    const renamed = await cli(['resource', 'update', 'HTTPS://mcp.example.com/mcp', '--name', 'Files']);
    assert.equal(renamed.code, 0, renamed.err);
    assert.deepEqual(JSON.parse(renamed.out.split('\nRunning')[0]!).scopes, shown.scopes);
    // --parent alone replaces the hierarchy over the kept scopes.
    const flat = await cli(['resource', 'update', 'https://mcp.example.com/mcp', '--parent', 'files:read=files']);
    assert.equal(flat.code, 0, flat.err);
    assert.deepEqual(JSON.parse(flat.out.split('\nRunning')[0]!).scopes, {
      files: 'All your files',
      'files:read': { description: 'Read your files', parent: 'files' },
      'files:write': 'Change your files',
    });
    const show = await cli(['resource', 'show', 'https://MCP.example.com:443/mcp']);
    assert.equal(show.code, 0, show.err);
    assert.equal(JSON.parse(show.out).scopes['files:read'].parent, 'files');
  });

  it('delete takes any spelling of the identifier and names the one deleted', async () => {
    const created = await cli(['resource', 'create', '--identifier', 'https://gone.example/mcp', '--name', 'G']);
    assert.equal(created.code, 0, created.err);
    const deleted = await cli(['resource', 'delete', 'HTTPS://GONE.example/mcp']);
    assert.equal(deleted.code, 0, deleted.err);
    assert.match(deleted.out, /^deleted resource https:\/\/gone\.example\/mcp;/);
    const missing = await cli(['resource', 'delete', 'https://gone.example/mcp']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no resource/);
  });

  it('refuses a wrong hierarchy, a non-canonical scheme and a malformed --parent, changing nothing', async () => {
    const base = ['resource', 'create', '--identifier', 'https://wrong.example/mcp', '--name', 'W'];
    for (const [args, why] of [
      [
        ['--scope', 'files:read=R', '--parent', 'files:read=files'],
        /files:read is not one of the resource's scopes|parent files is not a scope/,
      ],
      [
        [
          '--scope',
          'files=F',
          '--scope',
          'files:read=R',
          '--parent',
          'files=files:read',
          '--parent',
          'files:read=files',
        ],
        /cycle/,
      ],
      [['--scope', 'files=F', '--parent', 'files'], /--parent takes SCOPE=PARENT/],
      [['--parent', 'files:read=files'], /is not one of the resource's scopes/],
    ] as const) {
      const r = await cli([...base, ...args]);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.err, why, args.join(' '));
    }
    const http = await cli(['resource', 'create', '--identifier', 'http://mcp.example.com/mcp', '--name', 'H']);
    assert.equal(http.code, 1);
    assert.match(http.err, /identifier must use https/);
    const list = await cli(['resource', 'list', '--json']);
    assert.deepEqual(
      JSON.parse(list.out).map((r: { identifier: string }) => r.identifier),
      ['https://mcp.example.com/mcp'],
    );
  });
});
