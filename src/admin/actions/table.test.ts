// The admin action table (issue 20): every action has what its three fronts and the audit trail rely on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { ADMIN_SCOPES } from '../../protocol/admin-scopes.ts';
import type { AdminAction } from '../action.ts';
import { ADMIN_ACTIONS, actionNamed } from './index.ts';

const SCOPES = new Set<string>(ADMIN_SCOPES);
const pathParams = (path: string) => [...path.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]!);
type JsonSchema = { type?: string | string[]; anyOf?: JsonSchema[]; oneOf?: JsonSchema[]; enum?: unknown[] };
const SCALARS = new Set(['string', 'number', 'integer', 'boolean', 'null']);
/** Whether a value of this schema can be one query parameter (no object, no list). */
const scalar = (s: JsonSchema): boolean => {
  const members = s.anyOf ?? s.oneOf;
  if (members) return members.every(scalar);
  if (s.type === undefined) return s.enum !== undefined;
  return (Array.isArray(s.type) ? s.type : [s.type]).every((t) => SCALARS.has(t));
};

describe('the admin action table', () => {
  it('has actions (the keys area at least)', () => {
    assert.ok(ADMIN_ACTIONS.length >= 3);
    assert.ok(actionNamed('keys.list'));
  });

  it('names every action once, as area.verb', () => {
    const names = ADMIN_ACTIONS.map((a) => a.name);
    assert.deepEqual(
      names.filter((n, i) => names.indexOf(n) !== i),
      [],
      'duplicate action names',
    );
    for (const n of names) assert.match(n, /^[a-z][a-z-]*(\.[a-z][a-z-]*)+$/, `${n} is not area.verb`);
  });

  for (const action of ADMIN_ACTIONS as AdminAction[]) {
    describe(action.name, () => {
      it('has a known admin permission, an audit event and a summary', () => {
        assert.ok(SCOPES.has(action.permission), `${action.permission} is not an admin scope`);
        assert.match(action.event, /^[a-z][a-z0-9_]*$/, 'audit event type');
        assert.ok(action.summary.trim().length > 10, 'a summary the OpenAPI document and the CLI show');
      });

      it('takes a strict zod object (unknown fields are refused, never ignored)', () => {
        assert.ok(action.input instanceof z.ZodObject, 'input is a z.object');
        const catchall = (action.input as z.ZodObject)._zod.def.catchall;
        assert.equal(catchall?._zod.def.type, 'never', 'input is .strict()');
        assert.equal(action.input.safeParse({ surely_not_a_field: 1 }).success, false);
      });

      it('is served by the admin API, or says why the console alone serves it', () => {
        assert.ok(
          (action.http !== undefined) !== (action.consoleOnly !== undefined),
          'exactly one of http and consoleOnly',
        );
        if (action.consoleOnly !== undefined) assert.ok(action.consoleOnly.trim().length > 10, 'a reason');
      });

      if (action.http) {
        const http = action.http;
        it('has path parameters its input requires, and query parameters a URL can carry', () => {
          assert.match(http.path, /^\/[a-z0-9/{}_-]*[a-z0-9}]$/, 'a path under /admin/api/v1, no trailing slash');
          const shape = (action.input as z.ZodObject).shape as Record<string, z.ZodType>;
          for (const p of pathParams(http.path)) {
            assert.match(p, /^[a-z_]+$/, `path parameter {${p}}`);
            assert.ok(shape[p], `{${p}} is in the input schema`);
            assert.equal(shape[p]!.safeParse(undefined).success, false, `{${p}} is required`);
          }
          if (http.method === 'GET' || http.method === 'DELETE') {
            const props = (
              z.toJSONSchema(action.input, { io: 'input', unrepresentable: 'any' }) as {
                properties?: Record<string, JsonSchema>;
              }
            ).properties;
            for (const [name, s] of Object.entries(props ?? {}))
              assert.ok(scalar(s), `${name} of a ${http.method} is a scalar (it goes in the query string)`);
          }
        });
        if (http.method === 'PUT' || http.method === 'PATCH' || http.method === 'DELETE')
          it('changes need more than a read permission (an auditor changes nothing)', () => {
            assert.doesNotMatch(action.permission, /:read$/, `${http.method} ${http.path} with a read permission`);
          });
      }
    });
  }

  it('gives no two actions the same method and path', () => {
    const seen = new Map<string, string>();
    for (const a of ADMIN_ACTIONS) {
      if (!a.http) continue;
      // {client_id} and {id} in the same place are one route.
      const route = `${a.http.method} ${a.http.path.replace(/\{[^}]*\}/g, '{}')}`;
      assert.equal(seen.get(route), undefined, `${a.name} and ${seen.get(route)} are both ${route}`);
      seen.set(route, a.name);
    }
  });
});
