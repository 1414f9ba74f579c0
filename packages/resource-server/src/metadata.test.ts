import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metadataPath, metadataUrl, resourceProblem } from './metadata.ts';

describe('protected resource metadata location (RFC 9728 section 3.1)', () => {
  it('inserts the well-known path between host and path', () => {
    assert.equal(metadataPath('https://api.example/mcp'), '/.well-known/oauth-protected-resource/mcp');
    assert.equal(metadataPath('https://api.example/a/b/'), '/.well-known/oauth-protected-resource/a/b/');
    assert.equal(metadataPath('https://api.example/'), '/.well-known/oauth-protected-resource');
    assert.equal(metadataPath('https://api.example'), '/.well-known/oauth-protected-resource');
    assert.equal(
      metadataUrl('https://api.example:8443/mcp'),
      'https://api.example:8443/.well-known/oauth-protected-resource/mcp',
    );
  });

  it('accepts https resources, and http only on loopback hosts', () => {
    assert.equal(resourceProblem('https://api.example/mcp'), undefined);
    assert.equal(resourceProblem('http://localhost:3001/mcp'), undefined);
    assert.equal(resourceProblem('http://127.0.0.1:3001/mcp'), undefined);
    assert.match(resourceProblem('http://api.example/mcp')!, /https/);
    assert.match(resourceProblem('https://api.example/mcp?x=1')!, /query/);
    assert.match(resourceProblem('https://api.example/mcp#f')!, /fragment/);
    assert.match(resourceProblem('https://u:p@api.example/')!, /user/);
    assert.match(resourceProblem('mcp')!, /absolute/);
  });
});
