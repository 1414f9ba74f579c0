/**
 * Lists the files under src/protocol/ that still take the whole Provider, the ones biome.jsonc exempts from the
 * lint/whole-provider.grit rule. The list should only shrink: convert a file to name what it uses, then regenerate.
 *
 *   node scripts/whole-provider.ts           print the list as it is in biome.jsonc
 *   node scripts/whole-provider.ts --write   rewrite the list in biome.jsonc
 *   node scripts/whole-provider.ts --check   fail when the list in biome.jsonc names a file that no longer needs it
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const CONFIG = join(root, 'biome.jsonc');
const BEGIN = '// whole-provider: begin';
const END = '// whole-provider: end';

/** Files under src/protocol/ (tests aside) where the rule fires, found by running it alone without exemptions. */
function offenders(): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'whole-provider-'));
  try {
    const config = {
      plugins: [join(root, 'lint', 'whole-provider.grit')],
      vcs: { enabled: false },
      linter: { rules: { preset: 'none' } },
    };
    writeFileSync(join(dir, 'biome.json'), JSON.stringify(config));
    const biome = join(root, 'node_modules', '.bin', 'biome');
    const args = ['lint', `--config-path=${dir}`, '--reporter=github', '--max-diagnostics=none', 'src/protocol'];
    let out: string;
    try {
      out = execFileSync(biome, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      // Biome exits with 1 when the rule fires, which is the usual case here.
      out = String((err as { stdout?: string }).stdout ?? '');
    }
    const files = new Set<string>();
    for (const m of out.matchAll(/^::error title=plugin,file=([^,]+),/gm)) files.add(relative(root, m[1]!));
    return [...files].filter((f) => !f.endsWith('.test.ts')).sort();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function listed(text: string): { before: string; list: string[]; after: string; indent: string } {
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a === -1 || b === -1) throw new Error(`biome.jsonc has no "${BEGIN}" ... "${END}" markers`);
  const start = text.indexOf('\n', a) + 1;
  const lineStart = text.lastIndexOf('\n', b) + 1;
  const list = [...text.slice(start, lineStart).matchAll(/"!([^"]+)"/g)].map((m) => m[1]!);
  return { before: text.slice(0, start), list, after: text.slice(lineStart), indent: text.slice(lineStart, b) };
}

function main(args: string[]): number {
  const text = readFileSync(CONFIG, 'utf8');
  const current = listed(text);
  if (args.includes('--check')) {
    const still = new Set(offenders());
    const stale = current.list.filter((f) => !still.has(f));
    for (const f of stale)
      console.error(`${f} no longer takes the whole Provider: run node scripts/whole-provider.ts --write`);
    return stale.length ? 1 : 0;
  }
  const files = offenders();
  if (args.includes('--write')) {
    const lines = files.map((f) => `${current.indent}"!${f}",\n`).join('');
    writeFileSync(CONFIG, current.before + lines + current.after);
    console.log(`biome.jsonc: ${files.length} file(s) still take the whole Provider (${current.list.length} before)`);
  } else for (const f of files) console.log(f);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
