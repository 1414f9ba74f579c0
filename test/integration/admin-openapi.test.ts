/**
 * The admin API's OpenAPI document as served (/admin/api/v1/openapi.json): valid OpenAPI 3.1 by a real validator
 * (the specification's JSON Schema), one operation per action the API serves (operationId = the action's name)
 * and nothing else, each with its permission as its security scope; and the checked-in copy and the CLI's types
 * generated from it (npm run openapi) are those of the table as it is. The document does not depend on the
 * storage backend: SQLite only.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { App } from '../../src/app.ts';
import { ADMIN_ACTIONS } from '../../src/admin/actions/index.ts';
import { ADMIN_SCOPES } from '../../src/protocol/admin-scopes.ts';
import { DOCUMENT_PATH, generate, TYPES_PATH } from '../../scripts/openapi.ts';
import { ISSUER, testApp } from '../fixtures/app.ts';
import { ROOT } from '../fixtures/cli.ts';

type Operation = {
  operationId: string;
  security: Record<string, string[]>[];
  'x-permission': string;
  'x-audit-event': string;
  parameters?: { name: string; in: string; required?: boolean }[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
};
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

describe('admin API OpenAPI document', () => {
  let app: App;
  let doc: { openapi: string; servers: { url: string }[]; paths: Record<string, Record<string, Operation>> };
  before(async () => {
    app = await testApp('sqlite::memory:', {});
    const res = await app.server.inject({ url: '/admin/api/v1/openapi.json' });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /^application\/json/);
    doc = res.json();
  });
  after(() => app?.close());

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, item]) =>
      METHODS.filter((m) => item[m]).map((m) => ({ path, method: m.toUpperCase(), op: item[m]! })),
    );

  it('is valid OpenAPI 3.1 (the specification schema, through @seriousme/openapi-schema-validator)', async () => {
    assert.equal(doc.openapi, '3.1.0');
    const validator = new Validator();
    const r = await validator.validate(doc as unknown as Record<string, unknown>);
    assert.equal(validator.version, '3.1');
    assert.ok(r.valid, JSON.stringify(r.errors, null, 2));
    assert.deepEqual(doc.servers, [{ url: `${ISSUER}/admin/api/v1` }]);
  });

  it('a broken document fails the same validator (the check can fail)', async () => {
    // A path parameter that is not required: OpenAPI 3.1 says a path parameter always is.
    const broken = structuredClone(doc);
    const withPath = operations().find((o) => o.op.parameters?.some((p) => p.in === 'path'))!;
    const op = broken.paths[withPath.path]![withPath.method.toLowerCase()]!;
    op.parameters!.find((p) => p.in === 'path')!.required = false;
    assert.equal((await new Validator().validate(broken as unknown as Record<string, unknown>)).valid, false);
    const noInfo = structuredClone(doc) as unknown as Record<string, unknown>;
    delete noInfo.info;
    assert.equal((await new Validator().validate(noInfo)).valid, false);
  });

  it('lists every action the API serves, by operationId, with its method and path, and nothing else', () => {
    const served = ADMIN_ACTIONS.filter((a) => a.http).map((a) => `${a.name} ${a.http!.method} ${a.http!.path}`);
    const listed = operations().map((o) => `${o.op.operationId} ${o.method} ${o.path}`);
    assert.deepEqual(listed.toSorted(), served.toSorted());
    for (const a of ADMIN_ACTIONS.filter((x) => !x.http))
      assert.ok(!listed.some((l) => l.startsWith(`${a.name} `)), `${a.name} is console-only`);
  });

  it('gives each operation its permission as its only scope, its audit event, and its path parameters', () => {
    for (const { path, op } of operations()) {
      const action = ADMIN_ACTIONS.find((a) => a.name === op.operationId)!;
      assert.deepEqual(op.security, [{ adminToken: [action.permission] }, { breakGlass: [] }], op.operationId);
      assert.equal(op['x-permission'], action.permission);
      assert.equal(op['x-audit-event'], action.event);
      assert.ok((ADMIN_SCOPES as readonly string[]).includes(action.permission));
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      assert.deepEqual(
        (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => [p.name, p.required]),
        inPath.map((n) => [n, true]),
        `${op.operationId}: path parameters`,
      );
      for (const status of ['401', '403']) assert.ok(op.responses[status], `${op.operationId} documents ${status}`);
    }
  });

  it('is served without credentials and never cached as private data', async () => {
    const res = await app.server.inject({ url: '/admin/api/v1/openapi.json', headers: { cookie: 'x=y' } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['set-cookie'], undefined);
  });

  it('is checked in (docs/admin-openapi.json) with the CLI types generated from it, both up to date', () => {
    const { document, types } = generate();
    const stale = 'out of date with the admin action table: run npm run openapi';
    assert.equal(readFileSync(`${ROOT}/${DOCUMENT_PATH}`, 'utf8'), document, `${DOCUMENT_PATH} is ${stale}`);
    assert.equal(readFileSync(`${ROOT}/${TYPES_PATH}`, 'utf8'), types, `${TYPES_PATH} is ${stale}`);
    for (const a of ADMIN_ACTIONS.filter((x) => x.http)) assert.ok(types.includes(`'${a.name}': {`), a.name);
  });
});
