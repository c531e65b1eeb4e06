import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PingTally, formatProbes } from '../../controller/probes.js';
import { vifsByHost, whyVifNotMoved } from '../../controller/workloads.js';
import { loadBindings } from '../../schemas/vifs.js';
import type { Host } from '../../controller/inventory.js';

const dir = mkdtempSync(join(tmpdir(), 'ovn-chassis-workloads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const PORT = '3f1e2d4c-1111-4222-8333-444455556666';
const VM = '9a8b7c6d-aaaa-4bbb-8ccc-ddddeeeeffff';

describe('the binding list', () => {
  it('reads openstack port show output, and fills in nova\'s tap name', () => {
    const f = join(dir, 'os.json');
    writeFileSync(f, JSON.stringify([{ id: PORT, mac_address: 'FA:16:3E:00:00:01', device_id: VM, binding_host_id: 'cmp-1', name: '', status: 'ACTIVE' }]));
    expect(loadBindings(f)).toEqual([{ port: PORT, mac: 'FA:16:3E:00:00:01', vm: VM, host: 'cmp-1', tap: 'tap3f1e2d4c-11' }]);
  });

  it('refuses a port listed twice, a bad MAC and a missing host, naming the entry and the value', () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, `- {port: ${PORT}, mac: fa:16:3e:00:00:01, vm: ${VM}, host: cmp-1}\n- {port: ${PORT}, mac: nonsense, vm: ${VM}}\n`);
    let msg = '';
    try {
      loadBindings(f);
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toContain('nonsense');
    expect(msg).toMatch(/1\.host/);
  });

  it('groups VIFs by host and refuses hosts the inventory does not have', () => {
    const hosts = [{ name: 'cmp-1' }] as Host[];
    const vif = { port: PORT, mac: 'fa:16:3e:00:00:01', vm: VM, tap: 'tap3f1e2d4c-11' };
    expect(vifsByHost([{ ...vif, host: 'cmp-1' }], hosts, 'b.json').get('cmp-1')).toEqual([vif]);
    expect(() => vifsByHost([{ ...vif, host: 'cmp-9' }], hosts, 'b.json')).toThrow(/cmp-9/);
  });
});

describe('whether a VIF moved (pure)', () => {
  const ok = { plugged: true, installed: true };
  it('moved only when plugged, bound to this chassis, up, and installed', () => {
    expect(whyVifNotMoved(ok, { known: true, chassis: 'me', up: true }, 'me')).toBeUndefined();
    expect(whyVifNotMoved(ok, { known: true, chassis: 'me' }, 'me')).toBeUndefined();
  });
  it('says why not, in the order an operator would look', () => {
    expect(whyVifNotMoved({ plugged: false, installed: false, problem: 'tap x does not exist' }, { known: true }, 'me')).toBe('tap x does not exist');
    expect(whyVifNotMoved({ plugged: false, installed: false }, { known: true }, 'me')).toMatch(/not plugged/);
    expect(whyVifNotMoved(ok, { known: false }, 'me')).toMatch(/unknown to the Northbound/);
    expect(whyVifNotMoved(ok, { known: true }, 'me')).toMatch(/not bound/);
    expect(whyVifNotMoved(ok, { known: true, chassis: 'other' }, 'me')).toMatch(/bound to chassis other/);
    expect(whyVifNotMoved(ok, { known: true, chassis: 'me', up: false }, 'me')).toMatch(/not up/);
    expect(whyVifNotMoved({ plugged: true, installed: false }, { known: true, chassis: 'me', up: true }, 'me')).toMatch(/ovn-installed/);
  });
});

describe('ping -D -O output (pure)', () => {
  const reply = (t: number, seq: number) => `[${(t / 1000).toFixed(6)}] 64 bytes from 10.0.0.1: icmp_seq=${seq} ttl=64 time=0.1 ms`;
  const none = (t: number, seq: number) => `[${(t / 1000).toFixed(6)}] no answer yet for icmp_seq=${seq}`;

  it('counts what was lost and the longest silence between replies', () => {
    const t = new PingTally(1_000_000);
    t.line(reply(1_000_010, 1));
    for (let s = 2; s <= 50; s++) t.line(none(1_000_000 + s * 10, s));
    t.line(reply(1_000_520, 51));
    t.line('PING 10.0.0.1 (10.0.0.1) 56(84) bytes of data.');
    expect(t.stats('a', 1_000_530)).toEqual({ name: 'a', upAfterMs: 10, sent: 51, received: 2, lost: 49, longestGapMs: 510, back: true });
  });

  it('counts from the first reply: a path that did not exist yet is not a loss, and when it came up is said', () => {
    const t = new PingTally(0);
    for (let s = 1; s <= 100; s++) t.line(none(s * 10, s));
    for (let s = 101; s <= 110; s++) t.line(reply(s * 10, s));
    expect(t.stats('a', 1105)).toEqual({ name: 'a', upAfterMs: 1010, sent: 10, received: 10, lost: 0, longestGapMs: 10, back: true });
  });

  it('counts the silence at the end when the path never came back, and a path that never answered as all lost', () => {
    const t = new PingTally(0);
    t.line(reply(10, 1));
    t.line(none(20, 2));
    expect(t.stats('a', 2010)).toMatchObject({ longestGapMs: 2000, lost: 1, back: false });
    const never = new PingTally(0);
    never.line(none(10, 1));
    never.line(none(20, 2));
    expect(never.stats('b', 30)).toEqual({ name: 'b', upAfterMs: null, sent: 2, received: 0, lost: 2, longestGapMs: 30, back: false });
  });

  it('follows icmp_seq past its wrap at 65535, and counts a duplicate reply once', () => {
    const t = new PingTally(0);
    t.line(reply(10, 65535));
    t.line(reply(20, 0));
    t.line(reply(20, 0));
    expect(t.stats('a', 20)).toMatchObject({ sent: 2, received: 2, lost: 0 });
  });

  it('prints one line per probe', () => {
    const lines = formatProbes([{ name: 'vm-1 -> vm-3', upAfterMs: 12, sent: 100, received: 98, lost: 2, longestGapMs: 30, back: true }, { name: 'x', upAfterMs: null, sent: 5, received: 0, lost: 5, longestGapMs: 50, back: false }]);
    expect(lines[1]).toMatch(/vm-1 -> vm-3\s+12 ms\s+100\s+2\s+30 ms\s+yes/);
    expect(lines[2]).toMatch(/x\s+never\s+5\s+5\s+50 ms\s+NO/);
  });
});
