import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ADMIN_ACTIONS } from '../admin/actions/index.ts';
import { ADMIN_ROUTES } from './admin-routes.ts';

describe('the admin API routes (admin-routes.ts)', () => {
  it("are the action table's HTTP actions, in its order: name, method, path and raised body limit", () => {
    const table = ADMIN_ACTIONS.filter((a) => a.http).map((a) => ({
      action: a.name,
      method: a.http!.method,
      path: a.http!.path,
      ...(a.http!.bodyLimit !== undefined ? { bodyLimit: a.http!.bodyLimit } : {}),
    }));
    assert.deepEqual(ADMIN_ROUTES, table);
  });
});
