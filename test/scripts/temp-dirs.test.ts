import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mountsUnder, removeTempDirs, tempDir } from '../../sandbox/index.js';

describe('the folders tests and scripts make', () => {
  it('are removed, whatever they hold', () => {
    const dir = tempDir('temp-dirs');
    mkdirSync(join(dir, 'a', 'b'), { recursive: true });
    writeFileSync(join(dir, 'a', 'b', 'f'), 'x');
    removeTempDirs();
    expect(existsSync(dir)).toBe(false);
  });

  it.skipIf(process.getuid?.() !== 0)('are never removed through a mount: the folder is kept and named until it is unmounted', () => {
    const dir = tempDir('temp-dirs-mount');
    const mounted = join(dir, 'mnt');
    mkdirSync(mounted);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mounted]);
    try {
      writeFileSync(join(mounted, 'precious'), 'x');
      expect(mountsUnder(dir)).toEqual([mounted]);
      expect(() => removeTempDirs()).toThrow(`${dir} (mounted: ${mounted})`);
      expect(existsSync(join(mounted, 'precious'))).toBe(true);
    } finally {
      execFileSync('umount', [mounted]);
    }
    removeTempDirs();
    expect(existsSync(dir)).toBe(false);
  });
});
