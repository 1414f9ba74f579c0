/**
 * Fails on lines over 120 columns in src/, test/, bench/ and scripts/ that could be shorter. Biome wraps code and
 * wrap-comments.ts wraps comments; what neither can break is allowed, by two rules and nothing else:
 *
 * 1. Literals: a line may be longer when it fits once its string, template and regular-expression literals are
 *    emptied, as their text cannot be split without changing the program (a long test name, an HTML template line).
 * 2. One-word comments: a comment line may be longer when its text is a single word (a URL, a path).
 *
 *   node scripts/check-line-length.ts [FILE...]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Line, lines, MAX_WIDTH, sourceFiles, width } from './source-text.ts';

/** Why a line over the limit is allowed, or undefined when it is not. */
export function allowance(line: Line): 'literal' | 'one-word comment' | undefined {
  const emptied = line.pieces
    .map((p) => (p.kind === 'string' || p.kind === 'template' || p.kind === 'regex' ? '' : p.text))
    .join('');
  if (width(emptied) <= MAX_WIDTH) return 'literal';
  const comment = line.pieces.filter((p) => p.kind === 'line-comment' || p.kind === 'block-comment');
  const code = line.pieces.filter((p) => p.kind !== 'line-comment' && p.kind !== 'block-comment');
  if (comment.length === 1 && code.every((p) => p.text.trim() === '')) {
    // The comment's text without its marker (`//`, `/**`, `*`, `*/`) and any list marker.
    const text = comment[0]!.text
      .trim()
      .replace(/^(\/\/+|\/\*+|\*+(?!\/))/, '')
      .replace(/\*\/$/, '')
      .trim()
      .replace(/^([-*+]|\d+[.)])\s+/, '');
    if (text !== '' && !/\s/.test(text)) return 'one-word comment';
  }
  return undefined;
}

function main(args: string[]): number {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const files = args.length ? args : sourceFiles(root);
  let bad = 0;
  let allowed = 0;
  for (const file of files) {
    for (const [i, line] of lines(readFileSync(file, 'utf8')).entries()) {
      if (width(line.text) <= MAX_WIDTH) continue;
      if (allowance(line)) {
        allowed++;
        continue;
      }
      bad++;
      console.error(`${relative(root, file) || file}:${i + 1}: ${width(line.text)} columns (at most ${MAX_WIDTH})`);
    }
  }
  if (bad) {
    console.error(`${bad} line(s) over ${MAX_WIDTH} columns; run npm run format, then shorten what remains by hand`);
    return 1;
  }
  console.log(
    `line length: no line over ${MAX_WIDTH} columns except ${allowed} made long by a literal or a one-word comment`,
  );
  return 0;
}

if (import.meta.main) process.exitCode = main(process.argv.slice(2));
