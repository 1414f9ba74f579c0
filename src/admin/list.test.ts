import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeCursor } from './action.ts';
import { pageOfAll, pageQuery } from './list.ts';

const items = ['delta', 'alpha', 'Charlie', 'bravo', 'echo'].map((name) => ({ name, label: name.toUpperCase() }));
const page = (q: { cursor?: string; limit: number; search?: string }) =>
  pageOfAll(
    items,
    (i) => i.name,
    (i) => [i.label],
    pageQuery(q),
  );

describe('pageOfAll (lists the store returns whole)', () => {
  it('pages in key order with the last key as the cursor, until no next', () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const p = page({ limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...p.items.map((i) => i.name));
      if (p.next === undefined) break;
      assert.equal(p.next, p.items.at(-1)!.name);
      cursor = encodeCursor(p.next);
    }
    assert.deepEqual(seen, ['Charlie', 'alpha', 'bravo', 'delta', 'echo']);
    assert.equal(page({ limit: 5 }).next, undefined, 'an exact last page has no next');
  });

  it('searches case-insensitively in the given fields, and pages the matches', () => {
    assert.deepEqual(
      page({ limit: 10, search: 'A' }).items.map((i) => i.name),
      ['Charlie', 'alpha', 'bravo', 'delta'],
    );
    const first = page({ limit: 1, search: 'ha' });
    assert.deepEqual(
      first.items.map((i) => i.name),
      ['Charlie'],
    );
    assert.deepEqual(
      page({ limit: 1, search: 'ha', cursor: encodeCursor(first.next) }).items.map((i) => i.name),
      ['alpha'],
    );
    assert.deepEqual(page({ limit: 3, search: 'zz' }), { items: [] });
  });
});
