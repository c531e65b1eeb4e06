import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { Dockerd } from './dockerd.js';
import { makePki } from './pki.js';
import { tempDir } from './procs.js';
import { Sandbox } from './sandbox.js';
import { Sshd } from './sshd.js';

// This module runs built, from dist/sandbox/: the commands it prints are this checkout's own.
const BIN = fileURLToPath(new URL('../../bin/', import.meta.url));

/** How the sandbox's nodes and Southbound are reached: the ways production runs them. */
export interface SandboxModes {
  computes: number;
  gateways: number;
  /** local: agents in the controller's process; ssh: each node's agent through a real sshd; direct: nothing of ours on the node, over that sshd. */
  transport: 'local' | 'ssh' | 'direct';
  /** standalone: one server; cluster: a 3-member Raft cluster; tls: one server reached only over TLS. */
  southbound: 'standalone' | 'cluster' | 'tls';
  /** Each node's Open vSwitch database behind a Kolla-style openvswitch_vswitchd container in the sandbox's own dockerd. */
  docker: boolean;
  /** MidoNet export files: a host id file per node and the tunnel-zone file, for import --from-midonet. */
  midonet: boolean;
}

export interface ModedSandbox {
  sandbox: Sandbox;
  inventory: string;
  /** What the sandbox shows, and the commands to try, each of which works as printed. */
  describe: string[];
  tries: string[];
  stop(): Promise<void>;
}

/**
 * A sandbox fleet whose nodes are reached as production reaches them: behind a
 * loopback sshd with its host key pinned (agent or direct), with Kolla-style
 * containers, and a Raft or TLS-only Southbound; every part real.
 */
export async function startSandbox(m: SandboxModes): Promise<ModedSandbox> {
  if (m.midonet && m.transport === 'direct') throw new Error('--midonet needs --transport local or ssh: in direct mode the controller reads MidoNet\'s own host id files on the node');
  const dir = tempDir('sandbox');
  const pki = m.southbound === 'tls' ? makePki(dir, 'southbound') : undefined;
  const sandbox = await Sandbox.start({ computes: m.computes, gateways: m.gateways, dir, southbound: pki ? { tls: pki } : m.southbound === 'cluster' ? 'cluster' : 'standalone' });
  let sshd: Sshd | undefined;
  let dockerd: Dockerd | undefined;
  const stop = async () => {
    await dockerd?.stop();
    await sshd?.stop();
    await sandbox.stop();
  };
  try {
    const inv = sandbox.inventory() as { defaults: Record<string, unknown>; hosts: Record<string, Record<string, unknown>> };
    const describe = [`${sandbox.nodes.length} nodes in ${dir}: ${sandbox.describeRegistration()}`, `Southbound: ${m.southbound === 'cluster' ? 'a 3-member Raft cluster' : m.southbound === 'tls' ? 'TLS only (certificates made with openssl in the sandbox)' : 'one ovsdb-server'} at ${sandbox.southboundEndpoints.join(',')}`];
    if (m.docker) {
      dockerd = await Dockerd.start();
      await dockerd.buildOvsImage();
      for (const n of sandbox.nodes) {
        // One dockerd stands for every node's: each node's container gets the node's name beside Kolla's.
        const container = `openvswitch_vswitchd_${n.name}`;
        await dockerd.startOvsContainer(container, n.ovsdb.dir, ['/bin/sleep', 'infinity']);
        inv.hosts[n.name] = { ...inv.hosts[n.name], agent: { backend: 'docker', container, dockerSocket: dockerd.socketPath } };
      }
      describe.push(`each node's Open vSwitch database behind its own openvswitch_vswitchd_<node> container in a dockerd of the sandbox (${dockerd.socketPath})`);
    }
    if (m.transport !== 'local') {
      sshd = await Sshd.start();
      const knownHosts = join(dir, 'known_hosts');
      writeFileSync(knownHosts, `${sshd.knownHostsLine()}\n`);
      inv.defaults.transport = {
        kind: 'ssh', user: 'root', port: sshd.port, privateKey: sshd.clientKey.key, knownHosts, via: m.transport === 'direct' ? 'direct' : 'agent',
        ...(m.transport === 'ssh' ? { agentCommand: [process.execPath, join(BIN, 'ovn-chassis-agent.js')] } : {}),
      };
      for (const n of sandbox.nodes) {
        // Every node is behind the one sshd at 127.0.0.1; its own address stays its encap IP.
        inv.hosts[n.name] = { ...inv.hosts[n.name], address: '127.0.0.1', encap: { ip: n.address }, transport: { stateDir: n.stateDir } };
      }
      describe.push(`every node behind a real sshd on 127.0.0.1:${sshd.port} (${m.transport === 'direct' ? 'direct mode: nothing of ours on the node' : 'its agent run over SSH'}), its host key pinned in ${knownHosts}`);
    }
    const tries: string[] = [];
    const ctl = (args: string) => tries.push(`node ${join(BIN, 'ovn-chassis.js')} ${args}`);
    const inventory = join(dir, 'inventory.yaml');
    const stateDir = m.transport === 'local' ? ` --state-dir ${dir}` : '';
    if (m.midonet) {
      const zone: Record<string, string> = {};
      for (const n of sandbox.nodes) {
        const id = randomUUID();
        const file = join(dir, 'nodes', n.name, 'midonet_host_id.properties');
        writeFileSync(file, `host_uuid=${id}\n`);
        zone[id] = n.address;
        const host = inv.hosts[n.name] as { transport: Record<string, unknown> };
        if (m.transport === 'local') host.transport = { ...host.transport, midonetHostIdFiles: [file] };
        else host.transport = { ...host.transport, agentCommand: [process.execPath, join(BIN, 'ovn-chassis-agent.js'), '--midonet-host-id-file', file] };
      }
      const tz = join(dir, 'tunnel-zone.yaml');
      writeFileSync(tz, `# MidoNet tunnel zone: host UUID -> tunnel IP, as exported from MidoNet\n${stringify(zone)}`);
      describe.push(`MidoNet export files: a host id file per node (nodes/<node>/midonet_host_id.properties) and the tunnel zone ${tz}`);
      ctl(`import -i ${inventory} -o ${join(dir, 'adopted.yaml')} --from-midonet --tunnel-zone ${tz} --force${stateDir}`);
    }
    writeFileSync(inventory, `# a sandbox fleet made by ovn-chassis: ${describe[0]}\n${stringify(inv)}`);
    ctl(`validate -i ${inventory}`);
    if (m.transport !== 'local') ctl(`hostkeys -i ${inventory}`);
    for (const cmd of ['diff', 'apply', 'status']) ctl(`${cmd} -i ${inventory}${stateDir}`);
    return { sandbox, inventory, describe, tries, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
