import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { defineAction, type AdminAction } from '../admin/action.ts';
import { ADMIN_ACTIONS } from '../admin/actions/index.ts';
import { isDestructive, sectionsOf, verbOf } from './sections.ts';

const action = (name: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string): AdminAction =>
  defineAction({
    name,
    summary: name,
    permission: 'admin:clients:read',
    event: 'e',
    input: z.object({}).strict(),
    http: { method, path },
    run: async () => ({ result: {} }),
  }) as AdminAction;

describe('console sections from the action table', () => {
  it('a section per first path segment: its list, its record read, its collection and record actions', () => {
    const list = action('clients.list', 'GET', '/clients');
    const create = action('clients.create', 'POST', '/clients');
    const get = action('clients.get', 'GET', '/clients/{client_id}');
    const update = action('clients.update', 'PATCH', '/clients/{client_id}');
    const revoke = action('clients.revoke-tokens', 'POST', '/clients/{client_id}/revoke-tokens');
    const export_ = action('audit.export', 'GET', '/audit/export');
    const audit = action('audit.list', 'GET', '/audit');
    const orphan = action('grants.revoke', 'DELETE', '/grants/{grant_id}');
    const sections = sectionsOf([export_, revoke, update, get, create, list, audit, orphan]);
    assert.deepEqual(
      sections.map((s) => s.id),
      ['clients', 'audit'],
    );
    const clients = sections[0]!;
    assert.equal(clients.list, list);
    assert.equal(clients.get, get);
    assert.equal(clients.key, 'client_id');
    assert.deepEqual(clients.collection, [create]);
    assert.deepEqual(clients.item, [revoke, update]);
    assert.deepEqual(sections[1]!.collection, [export_]);
    assert.equal(verbOf(revoke), 'Revoke tokens');
    assert.equal(verbOf(create), 'Create client');
    assert.equal(verbOf(orphan), 'Revoke grant');
    assert.equal(verbOf(export_), 'Audit: export');
    assert.equal(isDestructive(revoke), true);
    assert.equal(isDestructive(update), false);
  });

  it('the table today: every section has a list, and no action sits in two places', () => {
    const sections = sectionsOf(ADMIN_ACTIONS);
    assert.ok(sections.some((s) => s.id === 'keys'));
    const seen = new Set<AdminAction>();
    for (const s of sections)
      for (const a of [s.list!, ...(s.get ? [s.get] : []), ...s.collection, ...s.item]) {
        assert.equal(seen.has(a), false, a.name);
        seen.add(a);
      }
  });
  it('the branding is changed from the Settings section (its forms come from the actions)', () => {
    const settings = sectionsOf(ADMIN_ACTIONS).find((s) => s.id === 'settings')!;
    assert.deepEqual(
      settings.collection.map((a) => a.name),
      ['branding.read', 'branding.update', 'branding.remove-logo'],
    );
  });
});
