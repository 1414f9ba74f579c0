/**
 * The container image, checked without a container engine (CI has none): deploy/Dockerfile is read
 * instruction by instruction and held to what the image must be (two stages, the Node release the
 * lockfile pins, a numeric non-root user, a health check, `npm start`'s command, only /app/data
 * writable), .dockerignore is checked to send only what the image copies, and then the image's file
 * layout is laid out in a temporary directory by following the COPY lines and its command is run there
 * the way the container would run it: the image's environment, an unprivileged user when the test runs
 * as root, and the image's own health check command asked whether it is healthy.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { settings } from '../../src/config/settings.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dockerfile = readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string }>;
};

interface Instruction {
  keyword: string;
  /** The text after the keyword, continuation lines joined. */
  rest: string;
  line: number;
}

/** The instructions of a Dockerfile: comments dropped, lines ending in `\` joined to the next. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      line = line.slice(0, -1).trimEnd();
      let next = lines[++i]!.trim();
      while (next.startsWith('#') && i + 1 < lines.length) next = lines[++i]!.trim();
      line += ' ' + next;
    }
    const m = /^(\S+)\s*(.*)$/.exec(line)!;
    out.push({ keyword: m[1]!.toUpperCase(), rest: m[2]!, line: start + 1 });
  }
  return out;
}

interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** The build stages, each with the instructions after its FROM. ARGs before the first FROM fill ${NAME}. */
function stages(instructions: Instruction[]): { args: Record<string, string>; stages: Stage[] } {
  const args: Record<string, string> = {};
  const list: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'ARG' && list.length === 0) {
      const [k, v = ''] = ins.rest.split('=');
      args[k!.trim()] = v.trim();
    } else if (ins.keyword === 'FROM') {
      const [image, as, name] = ins.rest.split(/\s+/);
      const from = image!.replace(/\$\{(\w+)\}/g, (_, k: string) => args[k] ?? '');
      list.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      assert.ok(list.length > 0, `line ${ins.line}: ${ins.keyword} before any FROM`);
      list.at(-1)!.instructions.push(ins);
    }
  }
  return { args, stages: list };
}

/** A JSON (exec form) argument list, or undefined when the instruction uses the shell form. */
function execForm(rest: string): string[] | undefined {
  if (!rest.startsWith('[')) return undefined;
  const parsed = JSON.parse(rest) as unknown;
  assert.ok(Array.isArray(parsed) && parsed.every((a) => typeof a === 'string'), `not a list of strings: ${rest}`);
  return parsed;
}

interface Copy {
  from?: string;
  sources: string[];
  dest: string;
}

function parseCopy(rest: string): Copy {
  const words = execForm(rest) ?? rest.split(/\s+/);
  let from: string | undefined;
  const plain: string[] = [];
  for (const w of words) {
    if (w.startsWith('--from=')) from = w.slice('--from='.length);
    else if (w.startsWith('--')) continue;
    else plain.push(w);
  }
  assert.ok(plain.length >= 2, `COPY needs a source and a destination: ${rest}`);
  return { from, sources: plain.slice(0, -1), dest: plain.at(-1)! };
}

/** ENV in either form (`ENV A=1 B=2` or the old `ENV A 1`), quotes removed. */
function parseEnv(rest: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!rest.includes('=')) {
    const [k, ...v] = rest.split(/\s+/);
    out[k!] = v.join(' ');
    return out;
  }
  for (const m of rest.matchAll(/(\w+)=("([^"]*)"|\S*)/g)) out[m[1]!] = m[3] ?? m[2]!;
  return out;
}

/**
 * Whether the build context leaves `path` out, by .dockerignore's rules: each pattern is a path
 * pattern (`*` within one name, `**` across names) that also covers everything under a directory it
 * names; a leading `!` lets back in; the last pattern that matches decides.
 */
function ignored(rules: string[], path: string): boolean {
  let out = false;
  const parts = path.split('/');
  for (const raw of rules) {
    const negate = raw.startsWith('!');
    const pattern = (negate ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const source = pattern
      .split(/(\*\*\/?|\*|\?)/)
      .map((t) =>
        t === '**/'
          ? '(?:.*/)?'
          : t === '**'
            ? '.*'
            : t === '*'
              ? '[^/]*'
              : t === '?'
                ? '[^/]'
                : t.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
      )
      .join('');
    const re = new RegExp(`^${source}$`);
    for (let n = 1; n <= parts.length; n++) {
      if (re.test(parts.slice(0, n).join('/'))) {
        out = !negate;
        break;
      }
    }
  }
  return out;
}

const dockerignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

const parsed = stages(parseDockerfile(dockerfile));
const final = parsed.stages.at(-1)!;
const finalOf = (keyword: string) => final.instructions.filter((i) => i.keyword === keyword);
const imageEnv = Object.assign({}, ...finalOf('ENV').map((i) => parseEnv(i.rest))) as Record<string, string>;
const workdir = finalOf('WORKDIR').at(-1)?.rest ?? '/';
const copies = finalOf('COPY').map((i) => parseCopy(i.rest));
const cmd = execForm(finalOf('CMD').at(-1)?.rest ?? '');
const healthcheck = finalOf('HEALTHCHECK').at(-1);
const healthcheckCmd = healthcheck ? execForm(healthcheck.rest.replace(/^.*?\bCMD\s+/, '')) : undefined;

/** Every file under `dir` (relative paths), not following symbolic links. */
function filesUnder(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(p, base));
    else out.push(relative(base, p));
  }
  return out;
}

describe('deploy/Dockerfile', () => {
  test('has a build stage that installs the production dependencies and a runtime stage that takes only them', () => {
    assert.ok(parsed.stages.length >= 2, 'a multi-stage build');
    const build = parsed.stages.slice(0, -1);
    const install = build.find((s) =>
      s.instructions.some((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.rest) && /--omit[= ]dev\b/.test(i.rest)),
    );
    assert.ok(install?.name, 'a named build stage runs `npm ci --omit=dev`');
    const modules = copies.find((c) => c.from === install.name);
    assert.deepEqual(modules?.sources, ['/app/node_modules'], 'the runtime stage copies node_modules from it');
    assert.ok(
      !final.instructions.some((i) => i.keyword === 'RUN' && /\bnpm (ci|install|i)\b/.test(i.rest)),
      'no install in the runtime stage',
    );
  });

  test('runs on the Node release that package.json and the lockfile pin', () => {
    const pinned = lock.packages['node_modules/node']?.version;
    assert.ok(pinned, 'the lockfile pins the node package (devDependency "node")');
    assert.equal(parsed.args.NODE_VERSION, pinned, "ARG NODE_VERSION is the lockfile's node version");
    for (const s of parsed.stages) assert.equal(s.from, `node:${pinned}-bookworm-slim`);
    const major = /\^?(\d+)\./.exec(pkg.devDependencies.node!)?.[1];
    assert.equal(pinned.split('.')[0], major);
  });

  test('runs as a numeric user that is not root', () => {
    const user = finalOf('USER').at(-1)?.rest;
    assert.ok(user, 'USER is set in the runtime stage');
    const [uid, gid] = user.split(':');
    assert.match(uid!, /^\d+$/, 'numeric, so that Kubernetes runAsNonRoot can check it');
    assert.notEqual(Number(uid), 0);
    if (gid !== undefined) assert.notEqual(Number(gid), 0);
    const last = final.instructions.at(-1)!;
    const userAt = final.instructions.lastIndexOf(finalOf('USER').at(-1)!);
    assert.ok(
      final.instructions.slice(userAt).every((i) => i.keyword !== 'RUN'),
      `nothing runs as root after USER (last instruction: ${last.keyword})`,
    );
  });

  test('starts with the same command as `npm start`', () => {
    assert.ok(cmd, 'CMD in exec form, so that signals reach Node directly');
    assert.equal(finalOf('ENTRYPOINT').length, 0, 'no ENTRYPOINT wraps the command');
    assert.deepEqual(cmd, pkg.scripts.start!.trim().split(/\s+/));
    const script = cmd.find((a) => /\.[jt]s$/.test(a))!;
    assert.ok(
      copies.some((c) => c.from === undefined && c.sources.some((s) => script.startsWith(s.replace(/\/$/, '') + '/'))),
      `${script} is copied into the image`,
    );
  });

  test('has a health check that runs a copied file with node (no curl in the image)', () => {
    assert.ok(healthcheck, 'HEALTHCHECK is set');
    assert.ok(healthcheckCmd, 'HEALTHCHECK CMD in exec form');
    assert.equal(healthcheckCmd[0], 'node');
    const file = healthcheckCmd[1]!;
    assert.ok(existsSync(join(ROOT, file)), `${file} exists in the repository`);
    assert.ok(
      copies.some((c) => c.sources.includes(file)),
      `${file} is copied into the image`,
    );
  });

  test('copies only sources that exist and that .dockerignore lets into the build context', () => {
    const local = copies.filter((c) => c.from === undefined);
    assert.ok(local.length > 0);
    for (const c of local) {
      for (const s of c.sources) {
        assert.ok(existsSync(join(ROOT, s)), `COPY source ${s} exists`);
        assert.ok(!ignored(dockerignore, s.replace(/\/$/, '')), `COPY source ${s} is not left out by .dockerignore`);
      }
    }
  });

  test('.dockerignore leaves out installed modules, git, tests, local data and secrets', () => {
    for (const p of [
      'node_modules/fastify/package.json',
      'packages/resource-server/node_modules/x/index.js',
      '.git/HEAD',
      'test/flows/cluster.test.ts',
      'src/config/config.test.ts',
      'data/tessera.db',
      '.env',
      'bench/results/latest.json',
      'test-artifacts/x.png',
    ])
      assert.ok(ignored(dockerignore, p), `${p} is left out`);
    for (const p of ['src/main.ts', 'src/ui/assets/passkeys.js', 'package.json', 'package-lock.json', 'bin/tessera.js'])
      assert.ok(!ignored(dockerignore, p), `${p} is sent`);
  });

  test('writes only to a declared volume: the default SQLite directory under WORKDIR', () => {
    const volumes = finalOf('VOLUME').flatMap((i) => execForm(i.rest) ?? i.rest.split(/\s+/));
    const databaseUrl = imageEnv.DATABASE_URL ?? (settings.find((s) => s.env === 'DATABASE_URL')!.default as string);
    const path = databaseUrl.replace(/^sqlite:/, '');
    const dataDir = dirname(path.startsWith('/') ? path : join(workdir, path));
    assert.ok(volumes.includes(dataDir), `${dataDir} (where ${databaseUrl} lives) is a VOLUME`);
  });
});

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

describe("the image's start command, run the way the container runs it", () => {
  const app = mkdtempSync(join(tmpdir(), 'tessera-image-'));
  after(() => rmSync(app, { recursive: true, force: true }));

  test('answers /health and /ready, passes its own health check, writes only to the data volume and stops on SIGTERM', async (t) => {
    // The image's /app: each COPY of the runtime stage, with .dockerignore applied; node_modules (from
    // the build stage) is the repository's own, linked.
    for (const c of copies) {
      const dest = c.dest.startsWith('/') ? c.dest : join(workdir, c.dest);
      const target = join(app, relative(workdir, dest));
      if (c.from !== undefined) {
        symlinkSync(join(ROOT, 'node_modules'), target);
        continue;
      }
      for (const s of c.sources) {
        const into = c.dest.endsWith('/') ? join(target, basename(s)) : target;
        mkdirSync(dirname(into), { recursive: true });
        cpSync(join(ROOT, s), into, {
          recursive: true,
          filter: (from) => !ignored(dockerignore, relative(ROOT, from)) || relative(ROOT, from) === s,
        });
      }
    }
    assert.ok(existsSync(join(app, 'src/main.ts')));
    assert.ok(!existsSync(join(app, 'src/config/config.test.ts')), 'tests stay out of the image');

    // The image's user owns only the data volume; as root, the test takes that user too, unless that
    // user cannot reach Node or the modules where this checkout lies (a private home directory): then
    // the run stays root and only the check of what was written outside the data volume remains.
    const [uid, gid] = finalOf('USER').at(-1)!.rest.split(':').map(Number) as [number, number];
    chmodSync(app, 0o755);
    const reachable =
      process.getuid?.() === 0 &&
      spawnSync(
        process.execPath,
        ['-e', `require('fs').readFileSync(${JSON.stringify(join(ROOT, 'node_modules/fastify/package.json'))})`],
        {
          uid,
          gid: gid ?? uid,
          timeout: 10_000,
        },
      ).status === 0;
    if (process.getuid?.() === 0 && !reachable)
      t.diagnostic(`uid ${uid} cannot reach ${process.execPath} or ${ROOT}/node_modules: running as root`);
    const asImageUser = reachable;
    mkdirSync(join(app, 'data'));
    if (asImageUser) chownSync(join(app, 'data'), uid, gid ?? uid);
    const before = new Set(filesUnder(app));

    const port = await freePort();
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ...imageEnv,
      // What every deployment supplies (the compose file's environment, the Helm chart's Secret):
      // production refuses to start without them.
      TESSERA_ISSUER: 'https://id.example.test',
      TESSERA_SECRET: 'a'.repeat(48),
      TESSERA_KEY_ENCRYPTION_KEY: 'b'.repeat(48),
      // Only the port differs from the image's, so that parallel tests do not collide.
      TESSERA_PORT: String(port),
    };
    const ids = asImageUser ? { uid, gid: gid ?? uid } : {};
    const [exe, ...args] = cmd!;
    assert.equal(exe, 'node');
    const child = spawn(process.execPath, args, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'], ...ids });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    t.after(() => child.kill('SIGKILL'));

    const healthy = () =>
      spawnSync(process.execPath, healthcheckCmd!.slice(1), { cwd: app, env, timeout: 10_000, ...ids }).status === 0;
    const deadline = Date.now() + 30_000;
    while (!healthy()) {
      assert.equal(child.exitCode, null, `Tessera exited before it was healthy:\n${output}`);
      assert.ok(Date.now() < deadline, `the health check did not pass within 30 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 250));
    }

    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(health.status, 200);
    const ready = await fetch(`http://127.0.0.1:${port}/ready`);
    assert.equal(ready.status, 200, await ready.text());
    const discovery = (await (await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
    };
    assert.equal(discovery.issuer, 'https://id.example.test');

    child.kill('SIGTERM');
    assert.equal(await exited, 0, `a clean exit on SIGTERM:\n${output}`);
    assert.equal(healthy(), false, 'the health check fails once the server is gone');

    const written = filesUnder(app).filter((f) => !before.has(f));
    assert.ok(written.length > 0, 'the database was written');
    for (const f of written) assert.ok(f.startsWith('data/'), `${f} was written outside the data volume`);
    assert.ok(statSync(join(app, 'data')).isDirectory());
  });
});
