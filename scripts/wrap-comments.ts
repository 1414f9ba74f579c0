/**
 * Rewraps comments to at most 120 columns, which the formatter (Biome) does not do: runs of `//` lines and `/** ...
 * *\/` blocks. Only a paragraph that holds a line over the limit is refilled, so comments that fit keep their line
 * breaks. A blank comment line, a list item (`-`, `*`, `+`, `1.`), an indented line (code, aligned columns), a fenced
 * block and a directive (`biome-ignore`, `@ts-expect-error`) start or end a paragraph and are never refilled; list
 * items wrap under their own text. A trailing `//` comment that makes its line too long moves onto its own lines above
 * that line. Running it again changes nothing.
 *
 *   node scripts/wrap-comments.ts            rewrite the files under src/, test/, bench/ and scripts/
 *   node scripts/wrap-comments.ts --check    list the files it would change, and fail if there are any
 *   node scripts/wrap-comments.ts FILE...    only these files
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lines, MAX_WIDTH, sourceFiles, width } from './source-text.ts';

const LIST_ITEM = /^(\s*)([-*+]|\d+[.)])( +)(?=\S)/;
const DIRECTIVE = /^(biome-ignore|@ts-|eslint-|prettier-ignore|#region|#endregion|\/)/;
const FENCE = /^\s*```/;
// A word that would read as a list marker or a tag if a line began with it: kept with the word before it.
const MARKER_LIKE = /^([-*+]|\d+[.)]|@\S*|```.*)$/;

interface Paragraph {
  /** Prefix of the paragraph's first line after the comment marker (a list marker), and of the lines after it. */
  first: string;
  rest: string;
  lines: string[];
}

type Block = { verbatim: string } | Paragraph;

/** Splits the text of a comment (its lines without the `// ` or ` * ` marker) into paragraphs and verbatim lines. */
function blocks(contents: string[]): Block[] {
  const out: Block[] = [];
  let open: Paragraph | undefined;
  let fenced = false;
  for (const line of contents) {
    if (FENCE.test(line)) fenced = !fenced;
    if (fenced || FENCE.test(line) || line.trim() === '' || DIRECTIVE.test(line)) {
      out.push({ verbatim: line });
      open = undefined;
      continue;
    }
    const item = LIST_ITEM.exec(line);
    if (item) {
      open = { first: item[0], rest: ' '.repeat(item[0].length), lines: [line.slice(item[0].length)] };
      out.push(open);
    } else if (/^\s/.test(line)) {
      const indent = line.length - line.trimStart().length;
      // Indented under a list item's text: that item goes on; indented anywhere else: code or aligned text.
      if (open && open.first !== '' && indent > open.first.length - open.first.trimStart().length) {
        open.lines.push(line.trim());
      } else {
        out.push({ verbatim: line });
        open = undefined;
      }
    } else if (open && open.first === '') {
      open.lines.push(line);
    } else {
      open = { first: '', rest: '', lines: [line] };
      out.push(open);
    }
  }
  return out;
}

/** Greedy fill of a paragraph's words into lines of at most `room` columns (a word longer than that stands alone). */
function fill(p: Paragraph, room: number): string[] {
  const units: string[] = [];
  for (const word of p.lines.join(' ').split(/\s+/).filter(Boolean)) {
    if (units.length && MARKER_LIKE.test(word)) units[units.length - 1] += ` ${word}`;
    else units.push(word);
  }
  const out: string[] = [];
  let line = p.first;
  let empty = true;
  for (const unit of units) {
    if (!empty && width(line) + 1 + width(unit) > room) {
      out.push(line);
      line = p.rest;
      empty = true;
    }
    line += empty ? unit : ` ${unit}`;
    empty = false;
  }
  out.push(line);
  return out;
}

/**
 * Rewraps a comment given as content lines; prefix(i) is what goes before content line i (indentation and marker).
 * Returns undefined when no line is too long, so the comment is left as it is.
 */
function rewrap(contents: string[], prefix: string, max: number): string[] | undefined {
  const room = max - width(prefix);
  let changed = false;
  const out: string[] = [];
  for (const b of blocks(contents)) {
    if ('verbatim' in b) {
      out.push(b.verbatim);
      continue;
    }
    const original = b.lines.map((l, i) => (i === 0 ? b.first : b.rest) + l);
    if (original.some((l) => width(l) > room)) {
      const filled = fill(b, room);
      if (filled.join('\n') !== original.join('\n')) changed = true;
      out.push(...filled);
    } else out.push(...original);
  }
  return changed ? out : undefined;
}

const withPrefix = (prefix: string, content: string) => (content === '' ? prefix.trimEnd() : prefix + content);

/** Moves a trailing `//` comment that makes its line too long onto lines of its own above that line. */
function moveTrailingComments(text: string, max: number): string {
  const out: string[] = [];
  for (const line of lines(text)) {
    const last = line.pieces.at(-1);
    const firstPiece = line.pieces[0];
    const before = line.pieces.slice(0, -1);
    if (
      width(line.text) > max &&
      last?.kind === 'line-comment' &&
      firstPiece &&
      (firstPiece.kind === 'code' || firstPiece.segment.start >= line.start) &&
      before.some((p) => p.text.trim() !== '') &&
      !DIRECTIVE.test(last.text.replace(/^\/\/\s?/, ''))
    ) {
      const indent = /^\s*/.exec(line.text)![0];
      const code = before
        .map((p) => p.text)
        .join('')
        .trimEnd();
      const comment = last.text.replace(/^\/\/\s?/, '');
      const prefix = `${indent}// `;
      const wrapped = rewrap([comment], prefix, max) ?? [comment];
      out.push(...wrapped.map((c) => withPrefix(prefix, c)), code);
    } else out.push(line.text);
  }
  return out.join('\n');
}

/** Rewraps the comments of one file's text; returns the text unchanged when every comment fits. */
export function wrapComments(input: string, max = MAX_WIDTH): string {
  const text = moveTrailingComments(input, max);
  const all = lines(text);
  const out: string[] = [];
  const isCommentLine = (i: number) => {
    const l = all[i]!;
    const p = l.pieces.filter((x) => x.text.trim() !== '' || x.kind !== 'code');
    return p.length === 1 && p[0]!.kind === 'line-comment' && p[0]!.segment.start >= l.start;
  };
  let i = 0;
  while (i < all.length) {
    const line = all[i]!;
    const trimmed = line.text.trimStart();
    const indent = line.text.slice(0, line.text.length - trimmed.length);
    if (isCommentLine(i) && /^\/\/( |$)/.test(trimmed)) {
      // A run of `//` lines at one indentation.
      let j = i;
      while (j < all.length && isCommentLine(j) && /^\/\/( |$)/.test(all[j]!.text.trimStart())) {
        if (!all[j]!.text.startsWith(`${indent}//`) || /^\s/.test(all[j]!.text.slice(indent.length))) break;
        j++;
      }
      const contents = all.slice(i, j).map((l) => l.text.slice(indent.length + 3));
      const prefix = `${indent}// `;
      const wrapped = rewrap(contents, prefix, max);
      if (wrapped) out.push(...wrapped.map((c) => withPrefix(prefix, c)));
      else out.push(...all.slice(i, j).map((l) => l.text));
      i = j;
      continue;
    }
    const jsdoc = trimmed.startsWith('/**') ? line.pieces.find((p) => p.kind === 'block-comment') : undefined;
    if (jsdoc && jsdoc.segment.start === line.start + indent.length) {
      const end = all.findIndex((l, k) => k >= i && l.start + l.text.length >= jsdoc.segment.end);
      const body = text.slice(jsdoc.segment.start, jsdoc.segment.end);
      const after = all[end]!.text.slice(jsdoc.segment.end - all[end]!.start);
      const contents = jsdocContents(body);
      const block = all.slice(i, end + 1).map((l) => l.text);
      if (after.trim() === '' && contents && block.some((l) => width(l) > max)) {
        const prefix = `${indent} * `;
        // A one-line block that is too long opens up even when its text needs no refilling.
        const wrapped = rewrap(contents, prefix, max) ?? (block.length === 1 ? contents : undefined);
        if (wrapped) out.push(`${indent}/**`, ...wrapped.map((c) => withPrefix(prefix, c)), `${indent} */`);
        else out.push(...block);
      } else out.push(...block);
      i = end + 1;
      continue;
    }
    out.push(line.text);
    i++;
  }
  return out.join('\n');
}

/** The content lines of a `/** ... *\/` block, or undefined when its lines do not all start with `*`. */
function jsdocContents(body: string): string[] | undefined {
  const inner = body.slice(3, -2);
  const raw = inner.split('\n');
  const out: string[] = [];
  for (const [k, l] of raw.entries()) {
    if (k === 0) {
      if (l.trim() !== '') out.push(l.trim());
      continue;
    }
    const t = l.trimStart();
    if (k === raw.length - 1 && t === '') continue;
    if (!t.startsWith('*')) return undefined;
    out.push(t.slice(1).startsWith(' ') ? t.slice(2).trimEnd() : t.slice(1).trimEnd());
  }
  return out;
}

function main(args: string[]): number {
  const check = args.includes('--check');
  const root = fileURLToPath(new URL('..', import.meta.url));
  const named = args.filter((a) => !a.startsWith('--'));
  const files = named.length ? named : sourceFiles(root);
  const changed: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const wrapped = wrapComments(text);
    if (wrapped === text) continue;
    changed.push(relative(root, file) || file);
    if (!check) writeFileSync(file, wrapped);
  }
  if (check) {
    for (const f of changed) console.error(`comments need wrapping: ${f}`);
    if (changed.length) console.error('run: npm run format');
    return changed.length ? 1 : 0;
  }
  console.log(`wrap-comments: ${changed.length} file(s) changed`);
  return 0;
}

if (import.meta.main) process.exitCode = main(process.argv.slice(2));
