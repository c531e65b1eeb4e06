import { keyTableMarkdown } from '../../schemas/keys.js';

const BEGIN = '<!-- key-table: generated from schemas/keys.ts by npm run schemas -->';
const END = '<!-- /key-table -->';

/** The README with its key table section made from the key table. */
export function withKeyTable(readme: string): string {
  const a = readme.indexOf(BEGIN);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md has no ${BEGIN} … ${END} section`);
  return `${readme.slice(0, a + BEGIN.length)}\n${keyTableMarkdown()}${readme.slice(b)}`;
}
