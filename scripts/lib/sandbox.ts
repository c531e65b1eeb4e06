import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { OvnController } from './ovn-controller.js';
import { NB_SCHEMA, OvsdbServer, SB_SCHEMA } from './ovsdb-server.js';
import { tempDir } from './procs.js';

export interface SandboxNode {
  name: string;
  group: 'gateway' | 'compute';
  address: string;
  ovsdb: OvsdbServer;
  controller: OvnController;
  stateDir: string;
}

/**
 * A local OVN fleet made of real parts: a Northbound and a Southbound
 * ovsdb-server, and per node an ovsdb-server (the node's Open vSwitch
 * database) with a real ovn-controller pointed at it. No ovs-vswitchd: a
 * chassis registers without one. Everything lives under one directory and is
 * stopped by pid.
 */
export class Sandbox {
  readonly dir: string;
  readonly nodes: SandboxNode[] = [];
  nb!: OvsdbServer;
  sb!: OvsdbServer;

  private constructor(dir: string) {
    this.dir = dir;
  }

  static async start(opts: { computes: number; gateways: number; dir?: string; onNode?: (n: SandboxNode) => void }): Promise<Sandbox> {
    const s = new Sandbox(opts.dir ?? tempDir('sandbox'));
    try {
      s.nb = await OvsdbServer.start({ schemas: [NB_SCHEMA], dir: join(s.dir, 'northbound') });
      s.sb = await OvsdbServer.start({ schemas: [SB_SCHEMA], dir: join(s.dir, 'southbound') });
      const specs = [
        ...Array.from({ length: opts.gateways }, (_, i) => ({ name: `gw-${i + 1}`, group: 'gateway' as const })),
        ...Array.from({ length: opts.computes }, (_, i) => ({ name: `cmp-${i + 1}`, group: 'compute' as const })),
      ];
      for (const [i, spec] of specs.entries()) await s.addNode(spec.name, spec.group, i, opts.onNode);
    } catch (err) {
      await s.stop();
      throw err;
    }
    return s;
  }

  private async addNode(name: string, group: SandboxNode['group'], i: number, onNode?: (n: SandboxNode) => void): Promise<void> {
    const base = join(this.dir, 'nodes', name);
    const ovsdb = await OvsdbServer.start({ dir: join(base, 'ovs') });
    mkdirSync(join(base, 'ovn-controller'), { recursive: true });
    const controller = OvnController.start(ovsdb.unix, join(base, 'ovn-controller'));
    // All of 127.0.0.0/8 is this machine's, so every node gets an address of its own.
    const node = { name, group, address: `127.0.${1 + Math.floor(i / 250)}.${10 + (i % 250)}`, ovsdb, controller, stateDir: join(base, 'state') };
    this.nodes.push(node);
    onNode?.(node);
  }

  /** The inventory an operator would write for this fleet. */
  inventory(): Record<string, unknown> {
    return {
      ovn: { southbound: [this.sb.unix], northbound: [this.nb.unix] },
      defaults: { transport: { kind: 'local' }, encap: { type: 'geneve' } },
      groups: { gateway: { gateway: true, bridgeMappings: { physnet1: 'br-ex' } }, compute: {} },
      hosts: Object.fromEntries(
        this.nodes.map((n) => [
          n.name,
          {
            address: n.address,
            groups: [n.group],
            agent: { backend: 'ovsdb', db: n.ovsdb.unix },
            transport: { kind: 'local', stateDir: n.stateDir },
            // ovn-controller 23.03 without ovs-vswitchd segfaults once it builds tunnels to peer
            // chassis; a transport zone per node means it builds none (tunnels form only inside a zone).
            transportZones: [n.name],
          },
        ]),
      ),
    };
  }

  writeInventory(path = join(this.dir, 'inventory.yaml')): string {
    const why = '# Each node has a transport zone of its own: ovn-controller without ovs-vswitchd crashes\n# when it builds tunnels to peers, and there is no datapath here to carry them anyway.\n';
    writeFileSync(path, `# a sandbox fleet made by ovn-chassis (${this.nodes.length} nodes)\n${why}${stringify(this.inventory())}`);
    return path;
  }

  async stop(): Promise<void> {
    for (const n of this.nodes) await n.controller.stop();
    for (const n of this.nodes) await n.ovsdb.stop();
    await this.sb?.stop();
    await this.nb?.stop();
  }
}
