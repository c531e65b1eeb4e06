import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Journal, readRecords } from '../../controller/journal.js';
import { tempDir } from '../../scripts/lib/procs.js';

describe('journal', () => {
  it('drops a record torn by a crash mid-write, and the next record starts on its own line', async () => {
    const path = join(tempDir('journal'), 'rollout.journal');
    const whole = JSON.stringify({ type: 'node', host: 'cmp-1', state: 'done', at: new Date().toISOString() });
    writeFileSync(path, `${whole}\n{"type":"step","host":"cmp-2","st`);
    const j = Journal.open(path, true);
    expect(j.records.map((r) => r.type)).toEqual(['node']);
    await j.append({ type: 'resume' });
    await j.close();
    expect(readFileSync(path, 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
    expect(readRecords(path).map((r) => r.type)).toEqual(['node', 'resume']);
  });

  it('cuts a complete but corrupt last record on resume, so the next resume still reads the journal', async () => {
    const path = join(tempDir('journal'), 'rollout.journal');
    const whole = JSON.stringify({ type: 'node', host: 'cmp-1', state: 'done', at: new Date().toISOString() });
    for (const corrupt of ['{"type":"step","host":"cmp-2","step":"apply","phase":"sideways"}', '\u0000\u0000garbage']) {
      writeFileSync(path, `${whole}\n${corrupt}\n`);
      for (let resume = 0; resume < 2; resume++) {
        const j = Journal.open(path, true);
        expect(j.records.map((r) => r.type)).toEqual(['node', ...Array(resume).fill('resume')]);
        await j.append({ type: 'resume' });
        await j.close();
      }
      expect(readRecords(path).map((r) => r.type)).toEqual(['node', 'resume', 'resume']);
    }
  });

  it('refuses a journal malformed anywhere but its last line', async () => {
    const path = join(tempDir('journal'), 'rollout.journal');
    writeFileSync(path, `not json\n${JSON.stringify({ type: 'resume', at: new Date().toISOString() })}\n`);
    expect(() => readRecords(path)).toThrow(`journal ${path} line 1 is not JSON`);
  });
});
