import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DEMO = fileURLToPath(new URL('../../dist/scripts/demo.js', import.meta.url));

describe('npm run demo (the main job)', () => {
  it('validates, diffs, applies and proves every sandbox chassis, then stops everything', async () => {
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [DEMO], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (c) => resolve({ code: c, out }));
    });
    expect(code).toBe(0);
    expect(out).toContain('3 of 3 nodes applied and verified, 0 failed');
    expect(out).toContain('Chassis proved in the Southbound DB (3 of 3):');
    expect(out).toMatch(/gw-1 +[0-9a-f-]{36} +encap geneve:127\.0\.1\.10 +gateway/);
    expect(out.trim().split('\n').at(-1)).toBe('demo: every sandbox chassis verified');
  });
});
