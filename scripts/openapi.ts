/**
 * Writes the admin API's OpenAPI document (docs/admin-openapi.json, made from the action table by
 * src/http/admin-openapi.ts) and the TypeScript types of its paths and operations that the CLI's remote mode
 * gives openapi-fetch (src/cli/admin-api.d.ts, in the shape openapi-typescript writes).
 *
 *   npm run openapi                  write both
 *   node scripts/openapi.ts --check  fail when either is out of date with the table
 *
 * The types are made here rather than by openapi-typescript: that tool prints through the TypeScript 5 compiler
 * API, which TypeScript 7 (this project's compiler) no longer has. The document's schemas are what zod's
 * toJSONSchema writes, a small part of JSON Schema, all of which is handled below.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN_ACTIONS } from '../src/admin/actions/index.ts';
import { adminOpenApi } from '../src/http/admin-openapi.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
/** The issuer the checked-in document names (the served document names the server's own). */
export const EXAMPLE_ISSUER = 'https://tessera.example';
export const DOCUMENT_PATH = 'docs/admin-openapi.json';
export const TYPES_PATH = 'src/cli/admin-api.d.ts';

type Schema = boolean | { [k: string]: unknown };
type Obj = { [k: string]: unknown };

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const key = (k: string) => (IDENT.test(k) ? k : JSON.stringify(k));
const lit = (v: unknown) => JSON.stringify(v);

/** The TypeScript type of a JSON Schema. */
export function tsType(s: Schema | undefined): string {
  if (s === undefined || s === true) return 'unknown';
  if (s === false) return 'never';
  if (typeof s.$ref === 'string') {
    const m = /^#\/components\/schemas\/(.+)$/.exec(s.$ref);
    if (!m) throw new Error(`unsupported $ref ${s.$ref}`);
    return `components['schemas'][${lit(m[1])}]`;
  }
  if ('const' in s) return lit(s.const);
  if (Array.isArray(s.enum)) return s.enum.map(lit).join(' | ') || 'never';
  const union = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (union) return union.map((m) => `(${tsType(m)})`).join(' | ');
  if (Array.isArray(s.allOf)) return (s.allOf as Schema[]).map((m) => `(${tsType(m)})`).join(' & ');
  const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : [];
  if (!types.length) return s.properties ? objectType(s) : 'unknown';
  return types
    .map((t) => {
      switch (t) {
        case 'string':
          return 'string';
        case 'number':
        case 'integer':
          return 'number';
        case 'boolean':
          return 'boolean';
        case 'null':
          return 'null';
        case 'array':
          if (Array.isArray(s.prefixItems)) return `[${(s.prefixItems as Schema[]).map(tsType).join(', ')}]`;
          return `(${tsType(s.items as Schema | undefined)})[]`;
        case 'object':
          return objectType(s);
        default:
          throw new Error(`unsupported JSON Schema type ${t}`);
      }
    })
    .join(' | ');
}

function objectType(s: Obj): string {
  const props = (s.properties ?? {}) as Record<string, Schema>;
  const required = new Set((s.required ?? []) as string[]);
  const members = Object.entries(props).map(([k, v]) => `${key(k)}${required.has(k) ? '' : '?'}: ${tsType(v)};`);
  const extra = s.additionalProperties;
  if (extra !== false && (extra !== undefined || !members.length)) members.push('[key: string]: unknown;');
  return `{ ${members.join(' ')} }`;
}

/** `{ a?: T; ... }` of the parameters of one place (path, query), or `never` when there are none. */
function parameterGroup(params: Obj[], place: string): string {
  const here = params.filter((p) => p.in === place);
  if (!here.length) return `${place}?: never;`;
  const optional = here.every((p) => p.required !== true);
  const members = here.map((p) => `${key(p.name as string)}${p.required ? '' : '?'}: ${tsType(p.schema as Schema)};`);
  return `${place}${optional ? '?' : ''}: { ${members.join(' ')} };`;
}

function operationType(op: Obj): string {
  const params = (op.parameters ?? []) as Obj[];
  const parameters = `parameters: { ${parameterGroup(params, 'query')} header?: never; ${parameterGroup(params, 'path')} cookie?: never; };`;
  const body = op.requestBody as Obj | undefined;
  const requestBody = body
    ? `requestBody${body.required ? '' : '?'}: { content: { 'application/json': ${tsType(
        ((body.content as Obj)['application/json'] as Obj).schema as Schema,
      )} } };`
    : 'requestBody?: never;';
  const responses = Object.entries(op.responses as Record<string, Obj>).map(([status, r]) => {
    const content = Object.entries((r.content ?? {}) as Record<string, Obj>)
      .map(([type, c]) => `${lit(type)}: ${tsType(c.schema as Schema)};`)
      .join(' ');
    return `${status}: { headers: { [name: string]: unknown }; content: { ${content} } };`;
  });
  return `{ ${parameters} ${requestBody} responses: { ${responses.join(' ')} } }`;
}

/** The types of a document, as openapi-typescript shapes them: `paths`, `components`, `operations`. */
export function typesOf(doc: Obj): string {
  const paths = doc.paths as Record<string, Obj>;
  const pathLines: string[] = [];
  const opLines: string[] = [];
  for (const [path, item] of Object.entries(paths)) {
    const methods = METHODS.map((m) => {
      const op = item[m] as Obj | undefined;
      if (!op) return `${m}?: never;`;
      opLines.push(`${lit(op.operationId)}: ${operationType(op)};`);
      return `${m}: operations[${lit(op.operationId)}];`;
    });
    pathLines.push(
      `${lit(path)}: { parameters: { query?: never; header?: never; path?: never; cookie?: never }; ${methods.join(' ')} };`,
    );
  }
  const schemas = Object.entries(((doc.components as Obj).schemas ?? {}) as Record<string, Schema>).map(
    ([name, s]) => `${key(name)}: ${tsType(s)};`,
  );
  return [
    '// Generated by `npm run openapi` (scripts/openapi.ts) from the admin action table: do not edit.',
    `export interface paths { ${pathLines.join('\n')} }`,
    'export type webhooks = Record<string, never>;',
    `export interface components { schemas: { ${schemas.join(' ')} }; responses: never; parameters: never; requestBodies: never; headers: never; pathItems: never; }`,
    'export type $defs = Record<string, never>;',
    `export interface operations { ${opLines.join('\n')} }`,
    '',
  ].join('\n');
}

/** Formats TypeScript as `npm run format` does (biome, reading standard input). */
function format(text: string, path: string): string {
  return execFileSync(join(root, 'node_modules', '.bin', 'biome'), ['format', `--stdin-file-path=${path}`], {
    cwd: root,
    input: text,
    encoding: 'utf8',
  });
}

/** The two files as the table makes them now. */
export function generate(): { document: string; types: string } {
  const doc = adminOpenApi(ADMIN_ACTIONS, EXAMPLE_ISSUER);
  return { document: `${JSON.stringify(doc, null, 2)}\n`, types: format(typesOf(doc), TYPES_PATH) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { document, types } = generate();
  const files: [string, string][] = [
    [DOCUMENT_PATH, document],
    [TYPES_PATH, types],
  ];
  if (process.argv.includes('--check')) {
    const stale = files.filter(([path, text]) => {
      try {
        return readFileSync(join(root, path), 'utf8') !== text;
      } catch {
        return true;
      }
    });
    for (const [path] of stale)
      console.error(`${path} is out of date with the admin action table: run npm run openapi`);
    process.exitCode = stale.length ? 1 : 0;
  } else {
    for (const [path, text] of files) writeFileSync(join(root, path), text);
    console.log(`wrote ${files.map(([p]) => p).join(' and ')}`);
  }
}
