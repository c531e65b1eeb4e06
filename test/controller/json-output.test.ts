import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OUTPUT_API_VERSION, OUTPUT_COMMANDS, type OutputCommand } from '../../schemas/output.js';
import { OvsdbServer, Sandbox, Sshd, configDbSchemaFile, spawnServer, startPullAgent, stopPid, tempDir, waitFor } from '../../sandbox/index.js';
import { AGENT_BIN, CONTROLLER_BIN, runCli } from '../support/cli.js';

/**
 * Every command of both programs, run with --json against real servers: each
 * output is checked against the command's published schema (runCli does it),
 * and this file runs every command that has one.
 */
let sandbox: Sandbox;
let sshd: Sshd;
let inv: string;
let dir: string;
const seen = new Set<OutputCommand>();

async function json(program: 'ovn-chassis' | 'ovn-chassis-agent', args: string[], code = 0): Promise<Record<string, any>> {
  const r = await runCli(program === 'ovn-chassis' ? CONTROLLER_BIN : AGENT_BIN, [...args, '--json']);
  expect(r.code, `${program} ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(code);
  const out = JSON.parse(r.stdout) as Record<string, any>;
  expect(out.apiVersion).toBe(OUTPUT_API_VERSION);
  seen.add(`${program} ${args.includes('--version') ? 'version' : args[0]}` as OutputCommand);
  return out;
}

beforeAll(async () => {
  sandbox = await Sandbox.start({ gateways: 0, computes: 1 });
  sshd = await Sshd.start();
  inv = sandbox.writeInventory();
  dir = tempDir('json-output');
}, 60_000);

afterAll(async () => {
  await sshd?.stop();
  await sandbox?.stop();
});

describe('--json of every command, against its schema', () => {
  it('the controller: validate, render, diff, apply, status, rollout, rollback, import, agent, hostkeys, version', async () => {
    const node = sandbox.nodes[0]!;
    const st = ['--state-dir', sandbox.dir];
    expect((await json('ovn-chassis', ['validate', '-i', inv])).hosts).toBe(1);
    expect((await json('ovn-chassis', ['render', '-i', inv])).nodes[0].host).toBe('cmp-1');
    const diff = await json('ovn-chassis', ['diff', '-i', inv, ...st], 2);
    // One count of changes: the run's is the sum of its nodes', each the plan's own lengths.
    const plan = diff.nodes[0].plan;
    expect(diff.changes).toEqual({ keys: plan.changes.length, bridges: plan.bridges.length, ports: plan.ports.length, vifs: 0 });
    expect(diff.nodes[0].changes).toEqual(diff.changes);
    const planned = await json('ovn-chassis', ['rollout', '-i', inv, '--batch', '1', '--plan-only', ...st], 2);
    expect(planned).toMatchObject({ outcome: 'planned', batches: [['cmp-1']], changes: diff.changes });
    const applied = await json('ovn-chassis', ['apply', '-i', inv, ...st]);
    expect(applied.changes).toEqual(diff.changes);
    expect((await json('ovn-chassis', ['status', '-i', inv, ...st])).nodes[0].verdict.state).toBe('verified');
    const rolled = await json('ovn-chassis', ['rollout', '-i', inv, '--batch', '1', '--journal', join(dir, 'r.journal'), ...st]);
    expect(rolled).toMatchObject({ outcome: 'done', changes: { keys: 0, bridges: 0, ports: 0, vifs: 0 } });
    expect((await json('ovn-chassis', ['import', '-i', inv, '-o', join(dir, 'imported.yaml'), ...st])).imported).toBe(1);
    expect((await json('ovn-chassis', ['rollback', '-i', inv, '--limit', 'cmp-1', ...st])).nodes[0].ok).toBe(true);
    // A node reached in-process: its agent answers, one-shot, with nothing installed.
    const agents = await json('ovn-chassis', ['agent', 'status', '-i', inv, ...st]);
    expect(agents.nodes[0]).toMatchObject({ agent: agents.controller, serving: false, install: '-' });
    const ssh = join(dir, 'ssh.yaml');
    writeFileSync(ssh, stringify({ ovn: { southbound: sandbox.southboundEndpoints }, hosts: { 'cmp-1': { address: '127.0.0.1', encap: { ip: node.address }, transport: { kind: 'ssh', port: sshd.port, privateKey: sshd.clientKey.key, knownHosts: join(dir, 'known_hosts') } } } }));
    expect((await json('ovn-chassis', ['hostkeys', '-i', ssh, '--yes'])).added).toBe(1);
    expect((await json('ovn-chassis', ['--version'])).program).toBe('ovn-chassis');
    const failed = await json('ovn-chassis', ['diff', '-i', join(dir, 'missing.yaml')], 1);
    expect(failed.error.code).toBe('INVALID_CONFIG');
  }, 180_000);

  it('the agent: show, diff, apply, rollback, health, version', async () => {
    // A node of its own, that no chassis has claimed yet.
    const server = await OvsdbServer.start();
    const cfg = join(dir, 'chassis.yaml');
    writeFileSync(cfg, stringify({ systemId: 'json-output-1', ovnRemote: ['tcp:127.0.0.1:6642'], encap: { type: 'geneve', ip: '127.0.0.1' } }), { mode: 0o600 });
    const db = ['--db', server.unix];
    const state = join(dir, 'agent-state');
    expect((await json('ovn-chassis-agent', ['show', ...db])).backend).toContain('ovsdb');
    const diff = await json('ovn-chassis-agent', ['diff', '--config', cfg, ...db], 2);
    const applied = await json('ovn-chassis-agent', ['apply', '--config', cfg, ...db, '--state-dir', state]);
    expect(applied.changes).toEqual(diff.changes);
    expect((await json('ovn-chassis-agent', ['rollback', ...db, '--state-dir', state])).restored).toBeDefined();
    const serving = spawnServer(process.execPath, [AGENT_BIN, 'serve', '--config', cfg, ...db, '--state-dir', state]);
    try {
      await waitFor(`the serving agent\n${serving.output()}`, () => existsSync(join(state, 'agent.sock')) || undefined, 20_000);
      expect((await json('ovn-chassis-agent', ['health', '--state-dir', state])).serving).toBe(true);
    } finally {
      await stopPid(serving.pid);
      await server.stop();
    }
    expect((await json('ovn-chassis-agent', ['--version'])).program).toBe('ovn-chassis-agent');
  }, 120_000);

  it('the controller in pull mode: publish, status --pull, rollout --pull', async () => {
    const configDb = await OvsdbServer.start({ schemas: [configDbSchemaFile()], dir: join(dir, 'config-db') });
    const node = sandbox.nodes[0]!;
    const agent = startPullAgent(AGENT_BIN, node, [configDb.unix]);
    try {
      const pulled = join(dir, 'pull.yaml');
      writeFileSync(pulled, stringify({ ...sandbox.inventory(), configDb: [configDb.unix] }));
      const published = await json('ovn-chassis', ['publish', '-i', pulled]);
      expect(published.nodes).toEqual([{ host: 'cmp-1', generation: 1, changed: true }]);
      const rolled = await json('ovn-chassis', ['rollout', '-i', pulled, '--pull', '--batch', '1']);
      expect(rolled.nodes.map((n: { state: string }) => n.state)).toEqual(['done']);
      const status = await json('ovn-chassis', ['status', '-i', pulled, '--pull']);
      expect(status.nodes[0]).toMatchObject({ pull: { state: 'applied', published: 1, applied: 1 }, verdict: { state: 'verified' } });
    } finally {
      await stopPid(agent.pid);
      await configDb.stop();
    }
  }, 60_000);

  it('every command with a published schema was run above', () => {
    expect([...seen].sort()).toEqual([...OUTPUT_COMMANDS].sort());
  });
});
