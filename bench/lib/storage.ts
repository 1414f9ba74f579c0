// Where Tessera keeps its state in a benchmark run (--storage): its embedded SQLite file (the
// default), or the production topology, PostgreSQL and Redis (the machine's services at
// 127.0.0.1:5432 and :6379, or BENCH_DATABASE_URL / BENCH_REDIS_URL). A PostgreSQL run gets a
// database of its own, created for it and dropped after it; Redis gets a database index of its own,
// emptied before and after. node-oidc-provider keeps its in-memory store either way (the report says so).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';

export type Storage = 'sqlite' | 'postgres';

export interface StorageUrls {
  /** DATABASE_URL and REDIS_URL for Tessera; empty for SQLite (servers.ts then uses a file). */
  env: Record<string, string>;
  /** How the report names it. */
  label: string;
  /** The PostgreSQL database made for the run (its backends are told apart from other databases' by it). */
  database?: string;
  /** Drops what was made for the run. */
  release(): Promise<void>;
}

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_BASE = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The Redis database index a benchmark uses (tests use others). */
const REDIS_DB = 13;

export async function prepareStorage(storage: Storage): Promise<StorageUrls> {
  if (storage === 'sqlite') return { env: {}, label: 'SQLite', release: async () => {} };
  const name = `tessera_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const redisUrl = `${REDIS_BASE.replace(/\/\d*$/, '')}/${REDIS_DB}`;
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  await redis.flushdb();
  await redis.quit();
  const databaseUrl = new URL(ADMIN_URL);
  databaseUrl.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: databaseUrl.href, REDIS_URL: redisUrl },
    database: name,
    label: 'PostgreSQL + Redis',
    async release() {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
      const r = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await r.connect();
      await r.flushdb();
      await r.quit();
    },
  };
}

/**
 * Where and how Tessera runs in a benchmark: its storage and how many instances (TESSERA_WORKERS:
 * the cluster primary and that many workers sharing the port, all pinned to the server core).
 */
export interface Topology {
  storage: Storage;
  instances: number;
}

/**
 * The name of a result file: `<prefix>-<topology>-latest` and the like. SQLite with one instance
 * keeps the plain names (the runs kept in git before topologies existed); PostgreSQL adds
 * `postgres`, and `postgres-2` with two instances, so runs of different topologies do not
 * overwrite each other.
 */
export function resultName(t: Topology, prefix: string | undefined, name: string): string {
  const topology =
    t.storage === 'sqlite' && t.instances === 1 ? [] : [t.storage, ...(t.instances > 1 ? [String(t.instances)] : [])];
  return [...(prefix ? [prefix] : []), ...topology, name].join('-');
}

/** How a report names the topology: "PostgreSQL + Redis, 2 instances". */
export function topologyLabel(t: Topology): string {
  const storage = t.storage === 'postgres' ? 'PostgreSQL + Redis' : 'SQLite';
  return `${storage}, ${t.instances === 1 ? 'one instance' : `${t.instances} instances`}`;
}

/** One sentence on how the instances run, for the report's notes. */
export function instancesNote(t: Topology): string {
  return t.instances === 1
    ? 'Tessera runs as one process (TESSERA_WORKERS=1).'
    : `Tessera runs as ${t.instances} instances sharing ${t.storage === 'postgres' ? 'PostgreSQL and Redis' : 'its storage'}: TESSERA_WORKERS=${t.instances}, the cluster primary and ${t.instances} workers sharing the port. Every one of them is pinned to the same server core as node-oidc-provider's single process, so both servers get the same CPU budget; the second instance shows what the topology costs (processes, connections, shared state in Redis), not what a second core gives (--scaling measures that). CPU per request sums the whole process tree (primary and workers, all threads); RSS is the sum of the tree's processes.`;
}
