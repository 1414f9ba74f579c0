// `npm run bench:all`: every measurement the README's performance section shows, one after the other on a quiet
// machine, then the section regenerated from their result files (readme.ts): the comparison on SQLite, on PostgreSQL +
// Redis, and on PostgreSQL + Redis with two instances; the latency search under open load on SQLite and on PostgreSQL +
// Redis; the 10-minute soak of two instances on PostgreSQL + Redis. Options after `--` go to every comparison (e.g.
// `--runs 3 --duration 3` for a shorter run). About 60 minutes with the defaults.
import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from './lib/servers.ts';

const extra = process.argv.slice(2);
const STEPS: string[][] = [
  [...extra],
  ['--storage', 'postgres', ...extra],
  ['--storage', 'postgres', '--instances', '2', ...extra],
  ['--latency'],
  ['--latency', '--storage', 'postgres'],
  ['--soak', '--storage', 'postgres', '--instances', '2', '--soak-seconds', '600'],
];

let failed = 0;
for (const args of STEPS) {
  process.stdout.write(`\n== npm run bench -- ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, ['bench/run.ts', ...args], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`(exit status ${r.status ?? r.signal}: its previous result file, if any, stays)\n`);
  }
}
const r = spawnSync(process.execPath, ['bench/readme.ts'], { cwd: REPO_ROOT, stdio: 'inherit' });
process.exit(failed || r.status ? 1 : 0);
