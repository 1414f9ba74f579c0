import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../config/config.ts';
import { buildResourceServer, describeResourceServer, type ResourceInput } from './resources.ts';

const config = loadConfig({ TESSERA_EXTRA_SCOPES: 'files files:read files:write files:read:names a b c d e' });
const build = (input: Partial<ResourceInput>) =>
  buildResourceServer(
    config,
    { identifier: 'https://files.example/mcp', display_name: 'Files', ...input },
    undefined,
    1,
  );
const refused = (input: Partial<ResourceInput>, why: RegExp) => assert.throws(() => build(input), why);

describe('the registry as operators write it', () => {
  it('stores the canonical identifier of the MCP specification', () => {
    assert.equal(build({ identifier: 'HTTPS://Files.Example:443/mcp' }).identifier, 'https://files.example/mcp');
    assert.equal(build({ identifier: 'https://files.example' }).identifier, 'https://files.example');
    assert.equal(build({ identifier: 'http://127.0.0.1:8080/mcp' }).identifier, 'http://127.0.0.1:8080/mcp');
    refused({ identifier: 'http://files.example/mcp' }, /identifier must use https/);
    refused({ identifier: 'https://u:p@files.example/mcp' }, /identifier must not have user information/);
    refused({ identifier: 'https://files.example/mcp#x' }, /identifier must be an absolute URI without a fragment/);
  });

  it('a scope hierarchy: parents among the scopes of the resource, no cycle, at most 4 levels, no OpenID Connect scopes', () => {
    const r = build({
      scopes: {
        files: 'All your files',
        'files:read': { description: 'Read your files', parent: 'files' },
        'files:read:names': { description: 'See file names', parent: 'files:read' },
        'files:write': 'Change your files',
      },
    });
    assert.deepEqual(r.scopes, [
      { name: 'files', description: 'All your files' },
      { name: 'files:read', description: 'Read your files', parent: 'files' },
      { name: 'files:read:names', description: 'See file names', parent: 'files:read' },
      { name: 'files:write', description: 'Change your files' },
    ]);
    // Shown as written, so that what `tessera resource show` prints can be written back.
    const shown = describeResourceServer(r).scopes as ResourceInput['scopes'];
    assert.deepEqual(build({ scopes: shown }).scopes, r.scopes);
    refused(
      { scopes: { 'files:read': { description: 'x', parent: 'files' } } },
      /parent files is not a scope of this resource/,
    );
    refused(
      { scopes: { a: { description: 'a', parent: 'b' }, b: { description: 'b', parent: 'a' } } },
      /its parents form a cycle/,
    );
    refused({ scopes: { a: { description: 'a', parent: 'a' } } }, /cycle/);
    refused(
      {
        scopes: {
          a: 'a',
          b: { description: 'b', parent: 'a' },
          c: { description: 'c', parent: 'b' },
          d: { description: 'd', parent: 'c' },
          e: { description: 'e', parent: 'd' },
        },
      },
      /scope e: a scope hierarchy has at most 4 levels/,
    );
    refused({ scopes: { profile: 'p', files: { description: 'f', parent: 'profile' } } }, /OpenID Connect scopes/);
    refused({ scopes: { files: { description: 'f', parent: 42 } as never } }, /parent must be a scope name/);
    refused({ scopes: { files: { description: 'f', includes: ['x'] } as never } }, /unknown key includes/);
    refused({ scopes: { files: { parent: 'x' } as never } }, /description of scope files/);
  });
});

describe('scope descriptions per language (issue 18)', () => {
  it('a description is text or { en, de?, fr? }, kept as given, with or without a parent', () => {
    const r = build({
      scopes: {
        files: { en: 'All your files', de: 'Alle Ihre Dateien', fr: 'Tous vos fichiers' },
        'files:read': { description: { en: 'Read your files', fr: 'Lire vos fichiers' }, parent: 'files' },
        'files:write': 'Change your files',
      },
    });
    assert.deepEqual(r.scopes, [
      { name: 'files', description: { en: 'All your files', de: 'Alle Ihre Dateien', fr: 'Tous vos fichiers' } },
      { name: 'files:read', description: { en: 'Read your files', fr: 'Lire vos fichiers' }, parent: 'files' },
      { name: 'files:write', description: 'Change your files' },
    ]);
    const shown = describeResourceServer(r).scopes as ResourceInput['scopes'];
    assert.deepEqual(build({ scopes: shown }).scopes, r.scopes);
  });

  it('English is required, only the languages Tessera speaks, each text a display text of at most 300 characters', () => {
    refused({ scopes: { files: { de: 'Dateien' } as never } }, /unknown key de|the description of scope files/);
    refused({ scopes: { files: { en: 'Files', es: 'Archivos' } as never } }, /unknown language es/);
    refused({ scopes: { files: { en: 'Files', de: 'x'.repeat(301) } } }, /scope files \(de\)/);
    refused({ scopes: { files: { en: '' } } }, /scope files \(en\)/);
    refused({ scopes: { files: { en: 'Files', fr: 'a\u0000b' } } }, /scope files \(fr\)/);
    assert.doesNotThrow(() => build({ scopes: { files: { en: 'Files', de: 'x'.repeat(300) } } }));
  });
});
