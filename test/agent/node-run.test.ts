import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { localNode } from '../../agent/node.js';

/** The process group a pid belongs to, from /proc (field 5 of stat, after the command's parenthesised name). */
const pgidOf = (pid: number | string) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[2]);

describe('programs the agent runs on its own machine (hooks, ovs-vsctl, facts)', () => {
  it('run in a process group of their own, so the Ctrl-C an operator gives a rollout never reaches a hook', async () => {
    const r = await localNode.run(['sh', '-c', 'cut -d" " -f5 /proc/$$/stat'], 10_000);
    expect(r.code).toBe(0);
    expect(Number(r.stdout.trim())).not.toBe(pgidOf(process.pid));
  });

  it('at the deadline the whole group is killed, children included', async () => {
    const r = await localNode.run(['sh', '-c', 'sleep 619 & sleep 619; wait'], 300);
    expect(r).toMatchObject({ timedOut: true, code: null });
    await new Promise((res) => setTimeout(res, 200));
    expect(spawnSync('pgrep', ['-f', '^sleep 619$']).status, 'no sleep left behind').toBe(1);
  });

  it('keeps the last 4 MiB of what a program prints', async () => {
    const r = await localNode.run(['sh', '-c', 'head -c 9000000 /dev/zero | tr "\\0" x; echo end'], 60_000);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(4 * 1024 * 1024);
    expect(r.stdout.endsWith('xend\n')).toBe(true);
  });

  it('says why a program could not be started', async () => {
    const r = await localNode.run(['/nonexistent/program'], 5_000);
    expect(r).toMatchObject({ code: null, timedOut: false, stderr: expect.stringContaining('ENOENT') });
  });
});
