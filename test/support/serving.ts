import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { expect } from 'vitest';
import { type SandboxNode, spawnServer, stopPid, waitFor } from '../../sandbox/index.js';
import { AGENT_BIN, CONTROLLER_BIN, nodesOf, runCli } from './cli.js';

/**
 * Runs `ovn-chassis-agent serve` on a sandbox node, keeping the node's
 * inventory config but an older encap IP, then `apply` (the controller's
 * apply, however it reaches the node). Proves the serving agent took the
 * applied config as its own: desired.json holds it, and a later drift is
 * repaired to it rather than back to the older one.
 */
export async function expectServingAgentAdopts(node: SandboxNode, inventory: string, apply: () => Promise<void>): Promise<void> {
  const [rendered] = nodesOf<{ config: Record<string, unknown> }>((await runCli(CONTROLLER_BIN, ['render', '-i', inventory, '--limit', node.name, '--json'])).stdout);
  const older = join(node.stateDir, '..', 'older-config.json');
  writeFileSync(older, JSON.stringify({ ...rendered?.config, encap: { type: 'geneve', ip: '127.0.0.99' } }));
  const daemon = spawnServer(process.execPath, [AGENT_BIN, 'serve', '--config', older, '--db', node.ovsdb.unix, '--state-dir', node.stateDir]);
  try {
    await waitFor(`the serving agent\n${daemon.output()}`, () => existsSync(join(node.stateDir, 'agent.sock')) && node.ovsdb.externalIds()['ovn-encap-ip'] === '127.0.0.99', 20_000);
    await apply();
    expect(JSON.parse(readFileSync(join(node.stateDir, 'desired.json'), 'utf8'))).toMatchObject({ encap: { ip: node.address } });
    node.ovsdb.vsctl('set', 'Open_vSwitch', '.', 'external_ids:ovn-encap-ip=127.0.0.98');
    await waitFor('the serving agent to repair the drift to the applied config', () => node.ovsdb.externalIds()['ovn-encap-ip'] === node.address);
  } finally {
    await stopPid(daemon.pid);
  }
}

/**
 * Sends `text` (JSON lines) on a new connection to an agent socket and
 * resolves with the first `n` answer lines, parsed.
 */
export function converse(socket: string, text: string, n: number): Promise<Record<string, any>[]> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socket);
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      const lines = buf.split('\n').filter(Boolean);
      if (lines.length >= n && buf.endsWith('\n')) {
        s.end();
        resolve(lines.map((l) => JSON.parse(l) as Record<string, any>));
      }
    });
    s.on('error', reject);
    s.write(text);
  });
}

/** Says hello, then sends `request`; resolves with both answers. */
export function helloThen(socket: string, request: Record<string, unknown>): Promise<Record<string, any>[]> {
  return converse(socket, `${JSON.stringify({ id: 1, method: 'hello', params: { protocol: 1, client: 'test' } })}\n${JSON.stringify(request)}\n`, 2);
}
