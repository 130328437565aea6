// Fills a marked place of a document with the figures of a run: the text between
// `<!-- figures:NAME -->` and `<!-- /figures:NAME -->` is replaced, and the file is formatted with
// the project's Prettier settings (so `npm run lint` still passes). Used by `npm run bench` and
// `npm run bench:profile` for docs/performance.md.
import { readFileSync, writeFileSync } from 'node:fs';
import * as prettier from 'prettier';

/** Replaces the marked place `name` of `file` with `markdown`; false (file untouched) when the markers are missing. */
export async function fillFigures(file: string, name: string, markdown: string): Promise<boolean> {
  const start = `<!-- figures:${name} -->`;
  const end = `<!-- /figures:${name} -->`;
  const text = readFileSync(file, 'utf8');
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from === -1 || to < from) return false;
  const next = `${text.slice(0, from + start.length)}\n\n${markdown.trim()}\n\n${text.slice(to)}`;
  const options = (await prettier.resolveConfig(file)) ?? {};
  writeFileSync(file, await prettier.format(next, { ...options, filepath: file }));
  return true;
}
