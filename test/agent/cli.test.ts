import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OvsdbServer, run, tempDir } from '../../sandbox/index.js';
import { AGENT_BIN, runCli } from '../support/cli.js';

let server: OvsdbServer;
let dir: string;
const good = [
  'systemId: 4c1b6a9e-1c39-4b8f-9d0a-2f6f1b1e2a10',
  'hostname: ctl-1',
  'ovnRemote: [tcp:172.30.0.101:6642]',
  'encap: {type: geneve, ip: 172.30.0.101}',
  'bridgeMappings: {physnet1: br-ex}',
  'gateway: true',
].join('\n');

beforeAll(async () => {
  server = await OvsdbServer.start();
  dir = tempDir('agent-cli');
});
afterAll(async () => {
  await server?.stop();
});

/** Each subcommand takes only its own flags: the state directory only where it keeps state. */
const agent = (args: string[], input?: string) =>
  runCli(AGENT_BIN, [...args, '--db', server.unix, ...(['apply', 'rollback'].includes(args[0] as string) ? ['--state-dir', join(dir, 'state')] : [])], input === undefined ? {} : { input });
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
/** Everything in the database, as an independent tool sees it. */
const dump = () => run('ovsdb-client', ['dump', server.unix, 'Open_vSwitch']);

describe('ovn-chassis-agent CLI', () => {
  it('diff exits 2 with a plan, apply exits 0, then diff exits 0', async () => {
    const cfg = file('good.yaml', good);
    const d1 = await agent(['diff', '--config', cfg]);
    expect(d1.code).toBe(2);
    expect(d1.stdout).toContain('+ ovn-encap-ip = 172.30.0.101');
    expect(d1.stdout).toContain('+ bridge br-ex');
    const ap = await agent(['apply', '--config', cfg]);
    expect(ap.code).toBe(0);
    expect(ap.stdout).toMatch(/^applied 7 keys, 1 bridge:\n/);
    const d2 = await agent(['diff', '--config', cfg]);
    expect([d2.code, d2.stdout.trim()]).toEqual([0, 'no changes']);
  });

  it('prints changes and removals the way a plan reads, and --json for machines', async () => {
    const cfg = file('changed.yaml', good.replace('ovnRemote: [tcp:172.30.0.101:6642]', 'ovnRemote: [tcp:172.30.0.102:6642]').replace('hostname: ctl-1\n', ''));
    const d = await agent(['diff', '--config', cfg]);
    expect(d.code).toBe(2);
    expect(d.stdout).toContain('~ ovn-remote: tcp:172.30.0.101:6642 -> tcp:172.30.0.102:6642');
    expect(d.stdout).toContain('- hostname');
    const j = await agent(['diff', '--config', cfg, '--json']);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout).plan).toMatchObject({ inSync: false, changes: expect.arrayContaining([{ key: 'hostname', action: 'remove', from: 'ctl-1' }]) });
  });

  it('reads the config from stdin with --config -', async () => {
    const d = await agent(['diff', '--config', '-'], good);
    expect([d.code, d.stdout.trim()]).toEqual([0, 'no changes']);
  });

  it.each([
    ['an invalid encap IP', good.replace('ip: 172.30.0.101', 'ip: 10.0.0.300'), 'encap.ip: "10.0.0.300" is not an IPv4 or IPv6 address'],
    ['an unknown field', `${good}\nencapIp: 1.2.3.4`, 'encapIp: unknown field'],
    ['a bridge name over 15 bytes', good.replace('br-ex', 'br-external-net0'), 'bridgeMappings.physnet1: "br-external-net0" is longer than 15 bytes'],
    ['a physnet mapped twice', `${good.replace('bridgeMappings: {physnet1: br-ex}', 'bridgeMappings: [physnet1:br-ex, physnet1:br-two]')}`, 'bridgeMappings.1: "physnet1:br-two" maps physnet "physnet1" a second time'],
    ['a bad endpoint', good.replace('tcp:172.30.0.101:6642', 'tcp:172.30.0.101'), 'ovnRemote.0: "tcp:172.30.0.101" is not an OVSDB endpoint'],
    ['a system-id with a space', good.replace('4c1b6a9e-1c39-4b8f-9d0a-2f6f1b1e2a10', '"a b"'), 'systemId: "a b" must not contain whitespace or commas'],
    ['an availability zone with a colon', `${good}\navailabilityZones: ["az:1"]`, 'availabilityZones.0: "az:1" is not an availability-zone name'],
    ['a YAML bomb', `a: &a [x,x,x,x,x,x,x,x,x]\n${'bcdefghijk'.split('').map((l, i) => `${l}: &${l} [${Array(9).fill(`*${'abcdefghijk'[i]}`).join(',')}]`).join('\n')}`, 'alias'],
    ['a 10 MB file', `${good}\n# ${'x'.repeat(10 * 1024 * 1024)}`, 'the limit is 1048576'],
  ])('refuses %s with exit 1, naming the problem, and changes nothing', async (_what, text, message) => {
    const before = dump();
    for (const cmd of ['diff', 'apply']) {
      const r = await agent([cmd, '--config', file('bad.yaml', text)]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(message);
    }
    expect(dump()).toBe(before);
  });

  it('refuses an unknown flag or command with exit 1', async () => {
    expect((await agent(['apply', '--config', file('g.yaml', good), '--frobnicate'])).code).toBe(1);
    expect((await runCli(AGENT_BIN, ['explode'])).code).toBe(1);
  });

  it('exits 1 naming the endpoint when the database is unreachable', async () => {
    const r = await runCli(AGENT_BIN, ['show', '--db', `unix:${dir}/absent.sock`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('absent.sock');
  });

  it('show --facts reports the node and its MidoNet host id', async () => {
    const mido = file('midonet_host_id.properties', '# written by midolman\nhost_uuid=8F1B1F6C-5B63-4D7B-9C3B-2C4D5E6F7A8B\n');
    const r = await agent(['show', '--facts', '--json', '--midonet-host-id-file', join(dir, 'absent'), '--midonet-host-id-file', mido]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { facts: Record<string, unknown>; managedKeys: string[] };
    expect(out.facts).toMatchObject({ midonetHostId: '8f1b1f6c-5b63-4d7b-9c3b-2c4d5e6f7a8b', addresses: expect.arrayContaining(['127.0.0.1']) });
    expect(out.facts.hostname).toEqual(expect.any(String));
    expect(out.managedKeys).toContain('ovn-encap-ip');
  });

  it('rollback restores what the last apply replaced', async () => {
    const before = server.externalIds();
    await agent(['apply', '--config', file('c2.yaml', good.replace('ctl-1', 'ctl-renamed'))]);
    expect(server.externalIds().hostname).toBe('ctl-renamed');
    const r = await agent(['rollback']);
    expect(r.code).toBe(0);
    expect(server.externalIds()).toEqual(before);
  });
});

describe('ovn-chassis-agent rpc (JSON lines on stdio)', () => {
  function rpcSession(lines: object[]): Promise<Record<string, unknown>[]> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [AGENT_BIN, 'rpc', '--db', server.unix, '--state-dir', join(dir, 'rpc-state')]);
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', () => resolve(out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)));
      child.stdin.end(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    });
  }

  it('says hello with the protocol version, then answers facts, show, diff and apply in order', async () => {
    mkdirSync(join(dir, 'rpc-state'), { recursive: true });
    const config = { systemId: 'rpc-chassis', ovnRemote: 'tcp:192.0.2.1:6642', encap: { ip: '192.0.2.77' } };
    const res = await rpcSession([
      { id: 1, method: 'hello', params: { protocol: 1, client: 'test' } },
      { id: 2, method: 'facts' },
      { id: 3, method: 'diff', params: { config, allowSystemIdChange: true } },
      { id: 4, method: 'apply', params: { config, allowSystemIdChange: true } },
      { id: 5, method: 'show' },
      { id: 6, method: 'diff', params: { config: { ...config, encap: { ip: '999.1.1.1' } } } },
      { id: 7, method: 'frobnicate' },
    ]);
    expect(res.map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(res[0]).toMatchObject({ result: { protocol: 1, backend: `ovsdb ${server.unix}` } });
    expect(res[1]).toMatchObject({ result: { hostname: expect.any(String), addresses: expect.any(Array) } });
    expect(res[2]).toMatchObject({ result: { inSync: false } });
    expect(res[3]).toMatchObject({ result: { applied: true } });
    expect((res[4]?.result as { externalIds: Record<string, string> }).externalIds['ovn-encap-ip']).toBe('192.0.2.77');
    expect(res[5]).toMatchObject({ error: { code: 'INVALID_CONFIG', message: expect.stringContaining('encap.ip: "999.1.1.1" is not an IPv4 or IPv6 address') } });
    expect(res[6]).toMatchObject({ error: { code: 'PROTOCOL' } });
  });

  it('refuses work before hello, and a protocol it does not speak', async () => {
    const res = await rpcSession([
      { id: 1, method: 'show' },
      { id: 2, method: 'hello', params: { protocol: 99, client: 'future' } },
    ]);
    expect(res[0]).toMatchObject({ id: 1, error: { code: 'PROTOCOL', message: 'send hello with the protocol version first' } });
    expect(res[1]).toMatchObject({ id: 2, error: { code: 'PROTOCOL_UNSUPPORTED', message: expect.stringContaining('protocol 99 is not supported'), data: { protocol: 1 } } });
  });
});
