import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const pages = ['README.md', 'THREAT-MODEL.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];

describe('the manual', () => {
  it('every link between its pages leads to a file of the repository', () => {
    const broken = pages.flatMap((page) =>
      [...readFileSync(page, 'utf8').matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)]
        .map((m) => m[1] as string)
        .filter((target) => !/^[a-z]+:/.test(target))
        .filter((target) => !existsSync(join(dirname(page), target)))
        .map((target) => `${page} → ${target}`));
    expect(broken).toEqual([]);
  });

  it('the README links every page of docs/', () => {
    const readme = readFileSync('README.md', 'utf8');
    const missing = readdirSync('docs').filter((f) => f.endsWith('.md') && !readme.includes(`](docs/${f})`));
    expect(missing).toEqual([]);
  });

  it('starts with the two commands', () => {
    const head = readFileSync('README.md', 'utf8').split('\n').slice(0, 5).join('\n');
    expect(head).toMatch(/^# ovn-chassis\n\n {4}npm run demo .*\n {4}npm test /);
  });
});
