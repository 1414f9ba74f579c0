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
