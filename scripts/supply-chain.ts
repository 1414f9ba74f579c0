/**
 * Supply-chain checks run by CI (.ci/run) after `npm run sbom`:
 *
 *   node scripts/supply-chain.ts sbom [FILE]    the SBOM (default sbom.cdx.json) is CycloneDX JSON and lists
 *                                               every production package of the lockfile at its locked
 *                                               version, and no development-only package
 *   node scripts/supply-chain.ts audit [--if-unreachable=fail|warn]
 *                                               `npm audit` of the production dependencies; exits 1 on any
 *                                               finding of high or critical severity, naming each
 *
 * When the registry's advisory service cannot be reached (a mirror or proxy that does not pass the bulk
 * advisory request on), nothing was checked: that is said plainly and exits 2, or, with
 * --if-unreachable=warn, is said as plainly and exits 0.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface LockPackage {
  version?: string;
  dev?: boolean;
  link?: boolean;
  name?: string;
}

interface Component {
  name: string;
  group?: string;
  version: string;
  purl?: string;
  components?: Component[];
}

/** The lockfile's production packages: name@version for every installed package not marked dev. */
export function productionPackages(lock: { packages: Record<string, LockPackage> }): {
  production: Set<string>;
  devOnly: Set<string>;
} {
  const production = new Set<string>();
  const devOnly = new Set<string>();
  for (const [path, p] of Object.entries(lock.packages)) {
    if (path === '' || p.link || !p.version || !path.includes('node_modules/')) continue;
    const name = p.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    (p.dev ? devOnly : production).add(`${name}@${p.version}`);
  }
  for (const id of production) devOnly.delete(id);
  return { production, devOnly };
}

/** Every component of a CycloneDX BOM, nested ones included, as name@version (the group joined back). */
export function bomComponents(bom: { components?: Component[] }): Set<string> {
  const out = new Set<string>();
  const walk = (list: Component[] | undefined) => {
    for (const c of list ?? []) {
      out.add(`${c.group ? `${c.group}/` : ''}${c.name}@${c.version}`);
      walk(c.components);
    }
  };
  walk(bom.components);
  return out;
}

function checkSbom(file: string): number {
  let bom: { bomFormat?: string; specVersion?: string; components?: Component[] };
  try {
    bom = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    console.error(`sbom: cannot read ${file} as JSON (${(err as Error).message}); run npm run sbom first`);
    return 1;
  }
  if (bom.bomFormat !== 'CycloneDX') {
    console.error(`sbom: ${file} is not a CycloneDX BOM (bomFormat ${JSON.stringify(bom.bomFormat)})`);
    return 1;
  }
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
  const { production, devOnly } = productionPackages(lock);
  const listed = bomComponents(bom);
  const missing = [...production].filter((id) => !listed.has(id));
  const extra = [...devOnly].filter((id) => listed.has(id));
  if (missing.length || extra.length) {
    if (missing.length)
      console.error(`sbom: production packages of the lockfile missing from ${file}:\n  ${missing.join('\n  ')}`);
    if (extra.length) console.error(`sbom: development-only packages listed in ${file}:\n  ${extra.join('\n  ')}`);
    return 1;
  }
  console.log(
    `sbom: ${file} (CycloneDX ${bom.specVersion}) lists all ${production.size} production packages of the lockfile`,
  );
  return 0;
}

interface AuditReport {
  auditReportVersion?: number;
  vulnerabilities?: Record<string, { severity: string; via: (string | { title?: string; url?: string })[] }>;
  metadata?: { vulnerabilities?: Record<string, number>; dependencies?: { prod?: number } };
  message?: string;
  statusCode?: number;
}

function audit(ifUnreachable: 'fail' | 'warn'): number {
  const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], { cwd: ROOT, encoding: 'utf8' });
  let report: AuditReport | undefined;
  try {
    report = JSON.parse(run.stdout) as AuditReport;
  } catch {
    report = undefined;
  }
  if (!report?.auditReportVersion || !report.vulnerabilities) {
    const why = report?.message ?? (run.stderr.trim().split('\n').at(-1) || `npm exited ${run.status}`);
    const message = [
      'npm audit: NOT CHECKED. The registry did not answer the advisory request, so nothing is known about',
      'vulnerabilities in the production dependencies.',
      `  npm said: ${why}`,
      '  Run `npm audit --omit=dev --audit-level=high` where the registry is reached directly.',
    ].join('\n');
    if (ifUnreachable === 'warn') {
      console.warn(`${message}\n  (--if-unreachable=warn: not failing)`);
      return 0;
    }
    console.error(message);
    return 2;
  }
  const serious = Object.entries(report.vulnerabilities).filter(
    ([, v]) => v.severity === 'high' || v.severity === 'critical',
  );
  const counts = report.metadata?.vulnerabilities ?? {};
  const summary = Object.entries(counts)
    .filter(([k, n]) => k !== 'total' && n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  if (serious.length) {
    console.error(`npm audit: ${serious.length} production packages with high or critical findings:`);
    for (const [name, v] of serious) {
      const titles = v.via.map((x) =>
        typeof x === 'string' ? `through ${x}` : `${x.title ?? ''} ${x.url ?? ''}`.trim(),
      );
      console.error(`  ${name} (${v.severity}): ${titles.join('; ')}`);
    }
    return 1;
  }
  console.log(
    `npm audit: no high or critical findings in the production dependencies${summary ? ` (${summary})` : ''}`,
  );
  return 0;
}

if (import.meta.main) {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'sbom') process.exit(checkSbom(resolve(rest[0] ?? 'sbom.cdx.json')));
  if (command === 'audit') {
    const flag = rest.find((a) => a.startsWith('--if-unreachable='))?.split('=')[1] ?? 'fail';
    if (flag !== 'fail' && flag !== 'warn') {
      console.error('--if-unreachable must be fail or warn');
      process.exit(64);
    }
    process.exit(audit(flag));
  }
  console.error('usage: node scripts/supply-chain.ts sbom [FILE] | audit [--if-unreachable=fail|warn]');
  process.exit(64);
}
