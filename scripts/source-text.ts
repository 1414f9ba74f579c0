/**
 * A small lexer for the TypeScript of this repository, shared by wrap-comments.ts and check-line-length.ts: it finds
 * comments and literals (strings, templates, regular expressions) without parsing, which is all both scripts need.
 * Templates are one literal from backtick to backtick, interpolations included, since the formatter does not break
 * inside them either.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type Kind = 'code' | 'string' | 'template' | 'regex' | 'line-comment' | 'block-comment';

export interface Segment {
  kind: Kind;
  start: number;
  end: number;
}

/** The widest a line may be, in characters (code points). */
export const MAX_WIDTH = 120;

/** The folders the formatter, the comment wrapper and the line-length check cover. */
export const ROOTS = ['src', 'test', 'bench', 'scripts'];

/** Every .ts file under the roots, skipping node_modules and bench/results. */
export function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (name === 'node_modules' || path === join(root, 'bench', 'results')) continue;
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts')) out.push(path);
    }
  };
  for (const r of ROOTS) {
    try {
      if (statSync(join(root, r)).isDirectory()) walk(join(root, r));
    } catch {
      // A root that does not exist has nothing to check.
    }
  }
  return out;
}

/** Width of a line as the checks count it: code points, so a non-ASCII letter counts once. */
export function width(line: string): number {
  let n = 0;
  for (const _ of line) n++;
  return n;
}

// After these, a slash starts a regular expression rather than a division.
const REGEX_AFTER_CHAR = new Set('(,=:[!&|?{};+-*%<>~^'.split(''));
const REGEX_AFTER_WORD = new Set([
  'return',
  'typeof',
  'instanceof',
  'in',
  'of',
  'new',
  'delete',
  'void',
  'throw',
  'case',
  'do',
  'else',
  'yield',
  'await',
]);
const WORD = /[\p{ID_Continue}$]/u;

/** Splits a file into code, literal and comment segments that cover it end to end. */
export function segments(text: string): Segment[] {
  const out: Segment[] = [];
  let i = 0;
  let codeStart = 0;
  // The last significant character of code and, when it ended a word, that word.
  let lastChar = '';
  let lastWord = '';

  const push = (kind: Kind, start: number, end: number) => {
    if (codeStart < start) out.push({ kind: 'code', start: codeStart, end: start });
    out.push({ kind, start, end });
    codeStart = end;
  };

  const skipString = (p: number, quote: string): number => {
    p++;
    while (p < text.length && text[p] !== quote && text[p] !== '\n') p += text[p] === '\\' ? 2 : 1;
    return Math.min(p + 1, text.length);
  };

  const skipRegex = (p: number): number => {
    p++;
    let inClass = false;
    while (p < text.length && text[p] !== '\n') {
      const c = text[p];
      if (c === '\\') p += 2;
      else {
        if (c === '[') inClass = true;
        else if (c === ']') inClass = false;
        else if (c === '/' && !inClass) break;
        p++;
      }
    }
    p++;
    while (p < text.length && /[a-z]/.test(text[p]!)) p++;
    return p;
  };

  // Skips code up to the brace that closes a template interpolation; returns the index after it.
  const skipInterpolation = (p: number): number => {
    let depth = 0;
    let prev = '{';
    while (p < text.length) {
      const c = text[p]!;
      if (c === '}' && depth === 0) return p + 1;
      if (c === '{') depth++;
      else if (c === '}') depth--;
      if (c === "'" || c === '"') p = skipString(p, c);
      else if (c === '`') p = skipTemplate(p);
      else if (c === '/' && text[p + 1] === '/') p = lineEnd(p);
      else if (c === '/' && text[p + 1] === '*') p = blockEnd(p);
      else if (c === '/' && REGEX_AFTER_CHAR.has(prev)) p = skipRegex(p);
      else p++;
      if (!/\s/.test(c)) prev = c;
    }
    return p;
  };

  const skipTemplate = (p: number): number => {
    p++;
    while (p < text.length) {
      const c = text[p];
      if (c === '\\') p += 2;
      else if (c === '`') return p + 1;
      else if (c === '$' && text[p + 1] === '{') p = skipInterpolation(p + 2);
      else p++;
    }
    return p;
  };

  const lineEnd = (p: number): number => {
    const n = text.indexOf('\n', p);
    return n === -1 ? text.length : n;
  };
  const blockEnd = (p: number): number => {
    const n = text.indexOf('*/', p + 2);
    return n === -1 ? text.length : n + 2;
  };

  if (text.startsWith('#!')) {
    i = lineEnd(0);
    push('line-comment', 0, i);
  }
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      const end = skipString(i, c);
      push('string', i, end);
      i = end;
      lastChar = c;
      lastWord = '';
    } else if (c === '`') {
      const end = skipTemplate(i);
      push('template', i, end);
      i = end;
      lastChar = c;
      lastWord = '';
    } else if (c === '/' && text[i + 1] === '/') {
      const end = lineEnd(i);
      push('line-comment', i, end);
      i = end;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = blockEnd(i);
      push('block-comment', i, end);
      i = end;
    } else if (c === '/' && (lastChar === '' || REGEX_AFTER_CHAR.has(lastChar) || REGEX_AFTER_WORD.has(lastWord))) {
      const end = skipRegex(i);
      push('regex', i, end);
      i = end;
      lastChar = '/';
      lastWord = '';
    } else {
      if (WORD.test(c)) {
        let j = i;
        while (j < text.length && WORD.test(text[j]!)) j++;
        lastWord = text.slice(i, j);
        lastChar = text[j - 1]!;
        i = j;
      } else {
        if (!/\s/.test(c)) {
          lastChar = c;
          lastWord = '';
        }
        i++;
      }
    }
  }
  if (codeStart < text.length) out.push({ kind: 'code', start: codeStart, end: text.length });
  return out;
}

export interface Line {
  /** Offset of the line's first character in the file. */
  start: number;
  text: string;
  /** The line's pieces, each within one segment; the first is the segment the line starts in. */
  pieces: { kind: Kind; text: string; segment: Segment }[];
}

/** The file's lines, each cut into the pieces of the segments it crosses. */
export function lines(text: string, segs: Segment[] = segments(text)): Line[] {
  const out: Line[] = [];
  let s = 0;
  let start = 0;
  for (const raw of text.split('\n')) {
    const end = start + raw.length;
    const pieces: Line['pieces'] = [];
    while (s < segs.length && segs[s]!.end <= start && !(segs[s]!.start === start && segs[s]!.end === start)) s++;
    for (let k = s; k < segs.length && segs[k]!.start <= end; k++) {
      const seg = segs[k]!;
      const a = Math.max(seg.start, start);
      const b = Math.min(seg.end, end);
      if (b > a || (raw.length === 0 && k === s)) pieces.push({ kind: seg.kind, text: text.slice(a, b), segment: seg });
    }
    out.push({ start, text: raw, pieces });
    start = end + 1;
  }
  return out;
}
