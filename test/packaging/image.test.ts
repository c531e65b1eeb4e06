import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dockerd, OvsdbServer, tempDir, waitFor } from '../../sandbox/index.js';
import { buildImage } from '../../scripts/image.js';
import { AGENT_IMAGE } from '../../schemas/version.js';
import { AGENT_BIN, runCli } from '../support/cli.js';

/**
 * The agent image (npm run image) on a real dockerd: built with no registry,
 * no Node.js inside, run as Kolla runs its containers — the node's OVSDB socket
 * directory and the state dir mounted at the same paths, the config read-only —
 * healthy, serving, and keeping the node's chassis configuration applied.
 */
let dockerd: Dockerd;
let server: OvsdbServer;

beforeAll(async () => {
  dockerd = await Dockerd.start();
  server = await OvsdbServer.start();
}, 120_000);

afterAll(async () => {
  await dockerd?.stop();
  await server?.stop();
});

describe('the agent image', () => {
  it('is built FROM scratch, runs serve healthy, and applies the node\'s config through the mounted socket', async () => {
    const tag = await buildImage(dockerd.api, join(tempDir('image'), 'context'));
    expect(tag).toBe(AGENT_IMAGE);
    const img = await dockerd.api.getImage(tag).inspect();
    expect(img.Config.Healthcheck?.Test?.slice(0, 3)).toEqual(['CMD', '/usr/bin/ovn-chassis-agent', 'health']);

    const state = join(tempDir('image-state'), 'ovn-chassis');
    mkdirSync(state, { mode: 0o700 });
    const config = join(state, '..', 'chassis.yaml');
    writeFileSync(config, 'systemId: image-1\novnRemote: tcp:192.0.2.1:6642\nencap: {ip: 192.0.2.81}\n', { mode: 0o600 });
    const container = await dockerd.api.createContainer({
      name: 'ovn_chassis_agent',
      Image: tag,
      Cmd: ['serve', '--config', '/etc/ovn-chassis/chassis.yaml', '--db', server.unix, '--state-dir', state],
      Healthcheck: { Test: ['CMD', '/usr/bin/ovn-chassis-agent', 'health', '--state-dir', state], Interval: 1e9, Timeout: 5e9, Retries: 3, StartPeriod: 1e9 },
      HostConfig: { NetworkMode: 'none', Binds: [`${server.dir}:${server.dir}`, `${state}:${state}`, `${config}:/etc/ovn-chassis/chassis.yaml:ro`] },
    });
    await container.start();
    try {
      await waitFor('the container healthy', async () => ((await container.inspect()).State.Health?.Status === 'healthy' ? true : undefined), 60_000);
      expect(server.externalIds()).toMatchObject({ 'system-id': 'image-1', 'ovn-encap-ip': '192.0.2.81' });
      // The node (and the controller, over SSH) finds the serving agent where it always looks: STATE_DIR/agent.sock.
      const health = await runCli(AGENT_BIN, ['health', '--state-dir', state]);
      expect(health.code, health.stderr).toBe(0);
      server.vsctl('set', 'Open_vSwitch', '.', 'external_ids:ovn-encap-ip=10.0.0.9');
      await waitFor('drift repaired by the containerised agent', () => server.externalIds()['ovn-encap-ip'] === '192.0.2.81');
      const top = await container.top();
      expect(top.Processes.map((p: string[]) => p.at(-1)).join('\n')).not.toMatch(/\bnode\b/);
    } finally {
      await container.remove({ force: true });
    }
  }, 180_000);
});
