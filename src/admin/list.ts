// The one shape of the admin lists (issue 20): a page of records in key order, asked for with the
// paging inputs (cursor, limit, search) and answered with the items and, when there are more, the
// cursor of the next page. `listAction` makes a whole list action of a store's page; `pageQuery`,
// `pageResult` and `pageOf` are its parts, for lists with inputs or results of their own.
import { z } from 'zod';
import type { Page, PageQuery } from '../ports/admin.ts';
import type { AdminScope } from '../protocol/admin-scopes.ts';
import {
  decodeCursor,
  defineAction,
  encodeCursor,
  pageInput,
  type ActionContext,
  type ActionResult,
  type PageResult,
} from './action.ts';

/** The paging inputs as the schema gives them to `run`. */
export interface PageInput {
  cursor?: string;
  limit: number;
  search?: string;
}

/** A store's query from the paging inputs: the cursor's key, the limit and the search when there is one. */
export const pageQuery = (input: PageInput): PageQuery => ({
  after: decodeCursor(input.cursor),
  limit: input.limit,
  ...(input.search ? { search: input.search } : {}),
});

/** A list's result from a store's page: the items described, and `next_cursor` when there are more. */
export function pageResult<T, D>(page: Page<T>, describe: (item: T) => D): PageResult<D> {
  const next = encodeCursor(page.next);
  return { items: page.items.map((item) => describe(item)), ...(next !== undefined ? { next_cursor: next } : {}) };
}

/**
 * One page of a list the store returns whole (small lists: resource servers, upstream providers,
 * claim mappings): items after the query's key in `key` order, those matching `search`
 * (case-insensitive substring of `fields`).
 */
export function pageOfAll<T>(
  all: readonly T[],
  key: (t: T) => string,
  fields: (t: T) => (string | null | undefined)[],
  q: PageQuery,
): Page<T> {
  const needle = q.search?.toLowerCase();
  const sorted = [...all].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const matching = sorted.filter(
    (t) =>
      (q.after === undefined || key(t) > q.after) &&
      (!needle || fields(t).some((f) => typeof f === 'string' && f.toLowerCase().includes(needle))),
  );
  const items = matching.slice(0, q.limit);
  return matching.length > q.limit ? { items, next: key(items[items.length - 1]!) } : { items };
}

/** An audit record's details of a list that says what it searched for: the page's count and the search. */
export const countAndSearch = (input: PageInput, count: number) => ({
  count,
  ...(input.search ? { search: input.search } : {}),
});

/**
 * A list action: GET `path` with the paging inputs, answered with one page of `page` described by
 * `describe`. Its audit record keeps how many items the page had, unless `details` says otherwise.
 */
export function listAction<T>(spec: {
  name: string;
  summary: string;
  permission: AdminScope;
  event: string;
  path: string;
  page(ctx: ActionContext, query: PageQuery): Promise<Page<T>>;
  describe(item: T): Record<string, unknown>;
  details?(input: PageInput, count: number): ActionResult['details'];
}) {
  return defineAction({
    name: spec.name,
    summary: spec.summary,
    permission: spec.permission,
    event: spec.event,
    input: z.object({ ...pageInput }).strict(),
    http: { method: 'GET', path: spec.path },
    async run(ctx, input) {
      const page = await spec.page(ctx, pageQuery(input));
      const count = page.items.length;
      return {
        result: pageResult(page, spec.describe),
        details: spec.details ? spec.details(input, count) : { count },
      };
    },
  });
}
