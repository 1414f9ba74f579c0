// Batched lookups for SQLite, which serves a whole process through one connection: the lookups
// of one event-loop turn (the requests read from the sockets that were ready together) go to the
// database as one statement. See docs/architecture.md, Storage.

/** Most keys one batched lookup asks for in one statement. */
const BATCH_LOOKUP_MAX = 64;

/**
 * SQLite: lookups by key asked for in one turn of the event loop (the requests read from the
 * sockets that were ready together) are answered by one `select` of many keys (SELECT ... WHERE
 * key IN (...)). Each SQLite statement takes and releases the WAL read lock (two system calls)
 * and goes through Kysely's connection handling; the most requested lookups (revoked access
 * tokens, users) pay that once per batch instead of once per request. A failed statement fails
 * every lookup of its batch.
 */
export function batchedLookup<R>(
  select: (keys: string[]) => Promise<R[]>,
  keyOf: (row: R) => string,
): (key: string) => Promise<R | undefined> {
  let pending: Map<string, { resolve: (row: R | undefined) => void; reject: (err: unknown) => void }[]> | undefined;
  const run = async (keys: string[]): Promise<Map<string, R>> =>
    new Map((await select(keys)).map((r) => [keyOf(r), r]));
  const flush = async () => {
    const batch = pending!;
    pending = undefined;
    const keys = [...batch.keys()];
    for (let i = 0; i < keys.length; i += BATCH_LOOKUP_MAX) {
      const chunk = keys.slice(i, i + BATCH_LOOKUP_MAX);
      try {
        const found = await run(chunk);
        for (const k of chunk) for (const w of batch.get(k)!) w.resolve(found.get(k));
      } catch (err) {
        for (const k of chunk) for (const w of batch.get(k)!) w.reject(err);
      }
    }
  };
  return (key) =>
    new Promise((resolve, reject) => {
      if (!pending) {
        pending = new Map();
        setImmediate(flush);
      }
      const waiting = pending.get(key);
      if (waiting) waiting.push({ resolve, reject });
      else pending.set(key, [{ resolve, reject }]);
    });
}
