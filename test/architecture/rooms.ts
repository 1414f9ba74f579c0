// The import rules of docs/architecture.md ("## Rooms"), as a function over a set of source files,
// so that rooms.test.ts can run it on src/ and on planted violations alike.
//
// A room is a folder under src/ (each adapters/<name> a room of its own), or a file at the top of src/ (app.ts,
// main.ts, run.ts). The table's "may import" column lists, in backticks, what a room may import besides itself: `room/`
// (a room, by its folder), `path/file.ts` (one file of another room), `*` (every room of ours), and packages as they
// are imported (`jose`, `@node-rs/argon2`, `node:crypto`). Words outside backticks are for people. Imports within a
// room are free.

export interface ImportRef {
  /** The specifier as written. */
  specifier: string;
  /** `import type` / `export type ... from`: erased at run time. */
  typeOnly: boolean;
  /** 1-based line of the import in its file. */
  line: number;
}

export interface RoomRule {
  room: string;
  /** Rooms this room may import from. */
  rooms: Set<string>;
  /** Single files (paths under src/) of other rooms this room may import. */
  files: Set<string>;
  /** Packages (npm names and node: builtins) this room may import. */
  packages: Set<string>;
  /** `*`: any room of ours. */
  anyRoom: boolean;
}

export interface Violation {
  /** Path under the source root, e.g. protocol/endpoints/register.ts. */
  file: string;
  specifier: string;
  line: number;
  rule: 'room' | 'package' | 'unknown-room' | 'missing-file' | 'room-cycle' | 'file-cycle';
  message: string;
}

/** Replaces comments with spaces (keeping line breaks), leaving strings as they are. */
export function stripComments(source: string): string {
  let out = '';
  let i = 0;
  let quote: string | undefined;
  while (i < source.length) {
    const c = source[i]!;
    const next = source[i + 1];
    if (quote) {
      out += c;
      if (c === '\\') {
        out += next ?? '';
        i += 2;
        continue;
      }
      if (c === quote) quote = undefined;
      i++;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      quote = c;
      out += c;
      i++;
      continue;
    }
    if (c === '/' && next === '/') {
      while (i < source.length && source[i] !== '\n') {
        out += ' ';
        i++;
      }
      continue;
    }
    if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end < 0 ? source.length : end + 2;
      out += source.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/** Every import of a TypeScript module: static imports and re-exports, side-effect imports, import(). */
export function importsOf(source: string): ImportRef[] {
  const text = stripComments(source);
  const lineAt = (index: number) => text.slice(0, index).split('\n').length;
  const refs: ImportRef[] = [];
  // import x from 'm'; import { a, type b } from 'm'; import type { T } from 'm'; export * from 'm';
  // export { a } from 'm'; export type { T } from 'm'. The clause never holds a quote or a semicolon.
  const fromClause = /(^|[;}\s])(import|export)(\s+type)?\s+([^;'"`]*?)\s*from\s*(['"])([^'"]+)\5/g;
  for (const m of text.matchAll(fromClause)) {
    if (m[2] === 'import' && m[3] === undefined && /^\(/.test(m[4]!)) continue;
    refs.push({ specifier: m[6]!, typeOnly: m[3] !== undefined, line: lineAt(m.index! + m[1]!.length) });
  }
  // import 'm'; (side effects only)
  for (const m of text.matchAll(/(^|[;}\s])import\s*(['"])([^'"]+)\2/g)) {
    refs.push({ specifier: m[3]!, typeOnly: false, line: lineAt(m.index! + m[1]!.length) });
  }
  // import('m'), at run time or in a type (counted alike).
  for (const m of text.matchAll(/(^|[^.\w$])import\s*\(\s*(['"])([^'"]+)\2\s*\)/g)) {
    refs.push({ specifier: m[3]!, typeOnly: false, line: lineAt(m.index! + m[1]!.length) });
  }
  return refs.sort((a, b) => a.line - b.line);
}

/** The room of a path under src/: its first folder (adapters/<name> for adapters), or the file itself at the top. */
export function roomOf(path: string): string {
  const parts = path.split('/');
  if (parts.length === 1) return parts[0]!;
  if (parts[0] === 'adapters' && parts.length > 2) return `adapters/${parts[1]}`;
  return parts[0]!;
}

/** The package an import names: node:fs/promises -> node:fs, @scope/pkg/sub -> @scope/pkg, pkg/sub -> pkg. */
export function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Resolves a relative specifier against the importing file's path (both under src/). */
export function resolve(from: string, specifier: string): string {
  const parts = from.split('/').slice(0, -1);
  for (const seg of specifier.split('/')) {
    if (seg === '.' || seg === '') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return parts.join('/');
}

/**
 * The rules of the table under `## Rooms`: its first column names the room (`src/protocol/`,
 * `src/adapters/sql/`, `src/app.ts`), its last column what the room may import.
 */
export function parseRoomTable(markdown: string): Map<string, RoomRule> {
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Rooms\n'));
  if (!section) throw new Error('docs/architecture.md has no "## Rooms" section');
  const rows = section
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .slice(2);
  if (rows.length === 0) throw new Error('the Rooms section has no table');
  const rules = new Map<string, RoomRule>();
  for (const row of rows) {
    const cells = row
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    const name = /^`src\/([^`]+)`$/.exec(cells[0]!)?.[1];
    if (!name) throw new Error(`Rooms table: the first cell must be a backticked src/ path: ${row}`);
    const room = name.replace(/\/$/, '');
    const rule: RoomRule = { room, rooms: new Set(), files: new Set(), packages: new Set(), anyRoom: false };
    for (const [, token] of cells[cells.length - 1]!.matchAll(/`([^`]+)`/g)) {
      if (token === '*') rule.anyRoom = true;
      else if (token.endsWith('/')) rule.rooms.add(token.slice(0, -1));
      else if (/^(app|main)\.ts$/.test(token)) rule.rooms.add(token);
      else if (token.endsWith('.ts')) rule.files.add(token);
      else rule.packages.add(token);
    }
    rules.set(room, rule);
  }
  return rules;
}

/** The strongly connected components with more than one node (each a cycle), by Tarjan's algorithm. */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return found;
}

/** One path around a cycle, from its first node back to it, for the message. */
function loopThrough(graph: Map<string, Set<string>>, members: string[]): string[] {
  const inside = new Set(members);
  const start = members[0]!;
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of [...(graph.get(v) ?? [])].sort()) {
      if (!inside.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(prev.get(path[0]!)!);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [...members, start];
}

/**
 * Checks a set of source files (paths under the source root, test files left out by the caller)
 * against the room rules: every import to another room or of a package is allowed by the importing
 * room's row; no cycle between rooms (any import counts); no cycle between files (imports that run:
 * `import type` and `export type ... from` are erased and do not count).
 */
export function checkRooms(files: Map<string, string>, rules: Map<string, RoomRule>): Violation[] {
  const violations: Violation[] = [];
  const roomGraph = new Map<string, Set<string>>();
  const fileGraph = new Map<string, Set<string>>();
  const firstEdge = new Map<string, { file: string; specifier: string; line: number }>();
  for (const [file, source] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const room = roomOf(file);
    const rule = rules.get(room);
    fileGraph.set(file, fileGraph.get(file) ?? new Set());
    for (const ref of importsOf(source)) {
      const at = { file, specifier: ref.specifier, line: ref.line };
      if (!rule) {
        violations.push({ ...at, rule: 'unknown-room', message: `room ${room} has no row in the Rooms table` });
        break;
      }
      if (!ref.specifier.startsWith('.')) {
        const pkg = packageOf(ref.specifier);
        if (!rule.packages.has(pkg)) {
          const message = `${room} may not import the package ${pkg} (not listed for ${room} in the Rooms table)`;
          violations.push({ ...at, rule: 'package', message });
        }
        continue;
      }
      const target = resolve(file, ref.specifier);
      if (!files.has(target)) {
        const message = `${ref.specifier} resolves to ${target}, which is not a source file`;
        violations.push({ ...at, rule: 'missing-file', message });
        continue;
      }
      if (!ref.typeOnly) fileGraph.get(file)!.add(target);
      const targetRoom = roomOf(target);
      if (targetRoom === room) continue;
      if (!roomGraph.has(room)) roomGraph.set(room, new Set());
      roomGraph.get(room)!.add(targetRoom);
      if (!firstEdge.has(`${room} ${targetRoom}`)) firstEdge.set(`${room} ${targetRoom}`, at);
      const allowed = rule.anyRoom || rule.rooms.has(targetRoom) || rule.files.has(target);
      if (!allowed) {
        const message = `${room} may not import ${targetRoom} (${target}): not listed for ${room} in the Rooms table`;
        violations.push({ ...at, rule: 'room', message });
      }
    }
  }
  for (const members of cycles(roomGraph)) {
    const loop = loopThrough(roomGraph, members);
    const edges = loop.slice(0, -1).map((r, i) => firstEdge.get(`${r} ${loop[i + 1]}`)!);
    const first = edges[0]!;
    violations.push({
      ...first,
      rule: 'room-cycle',
      message: `rooms import each other: ${loop.join(' -> ')} (${edges.map((e) => `${e.file}:${e.line} ${e.specifier}`).join('; ')})`,
    });
  }
  for (const members of cycles(fileGraph)) {
    const loop = loopThrough(fileGraph, members);
    const message = `files import each other at run time: ${loop.join(' -> ')}`;
    violations.push({ file: loop[0]!, specifier: loop[1]!, line: 0, rule: 'file-cycle', message });
  }
  return violations;
}

/** One line per violation: where, what, which rule. */
export function formatViolation(v: Violation): string {
  return `src/${v.file}${v.line ? `:${v.line}` : ''}  import '${v.specifier}'  [${v.rule}]  ${v.message}`;
}
