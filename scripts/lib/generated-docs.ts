import { keyTableMarkdown } from '../../schemas/keys.js';
import { ERROR_CODES } from '../../schemas/errors.js';

/** The sections of the manual made from the code's own tables, each between markers in its page. */
export const GENERATED_DOCS = [
  { file: 'docs/agent.md', name: 'key-table', from: 'schemas/keys.ts', content: keyTableMarkdown },
  { file: 'docs/output.md', name: 'error-codes', from: 'schemas/errors.ts', content: errorTableMarkdown },
] as const;

export function errorTableMarkdown(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, e]) => `| \`${code}\` | ${e.meaning} | ${'hint' in e ? e.hint : ''} |`);
  return ['| code | what happened | what to do |', '|---|---|---|', ...rows, ''].join('\n');
}

/** `text` with the named section made anew (between `<!-- NAME: generated … -->` and `<!-- /NAME -->`). */
export function withGenerated(text: string, section: (typeof GENERATED_DOCS)[number]): string {
  const begin = `<!-- ${section.name}: generated from ${section.from} by npm run schemas -->`;
  const end = `<!-- /${section.name} -->`;
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${section.file} has no ${begin} … ${end} section`);
  return `${text.slice(0, a + begin.length)}\n${section.content()}${text.slice(b)}`;
}
