import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { OvnController } from './ovn-controller.js';
import { RegistrarProcess } from './registrar.js';
import { OvsdbCluster } from './ovsdb-cluster.js';
import { NB_SCHEMA, OvsdbServer, SB_SCHEMA } from './ovsdb-server.js';
import { tempDir } from './procs.js';

/** PEM files for a TLS Southbound: the server's, and the client's that the controller and the nodes present. */
export interface SandboxTls {
  ca: string;
  serverKey: string;
  serverCert: string;
  clientKey: string;
  clientCert: string;
}

/** A sandbox node as the inventory names it: reached in-process, on its own ovsdb-server. */
export function localHostEntry(n: { address: string; group: string; ovsdb: OvsdbServer; stateDir: string }, transport: Record<string, unknown> = {}): Record<string, unknown> {
  return { address: n.address, groups: [n.group], agent: { backend: 'ovsdb', db: n.ovsdb.unix }, transport: { kind: 'local', stateDir: n.stateDir, ...transport } };
}

/** Nodes started at once: ovsdb-server start-up is mostly waiting. */
const START_AT_ONCE = 16;

/** The Southbound a sandbox runs: one server on a unix socket, a real 3-member Raft cluster on tcp, or one server reached only over TLS. */
export type SandboxSouthbound = 'standalone' | 'cluster' | { tls: SandboxTls };

export interface SandboxNode {
  name: string;
  group: 'gateway' | 'compute';
  address: string;
  ovsdb: OvsdbServer;
  /** The node's real ovn-controller; none where the registrar stands in for it. */
  controller: OvnController | undefined;
  stateDir: string;
}

/**
 * A local OVN fleet made of real parts: a Northbound and a Southbound
 * ovsdb-server, and per node an ovsdb-server (the node's Open vSwitch
 * database) with a real ovn-controller pointed at it. No ovs-vswitchd: a
 * chassis registers without one. Everything lives under one directory and is
 * stopped by pid.
 *
 * A fleet larger than the machine can hold ovn-controllers for (each one
 * follows every chassis in the Southbound) runs real ones on the first
 * `realControllers` nodes and a registrar for the rest: it registers their
 * chassis in the real Southbound with ovn-sbctl, as ovn-controller would.
 */
export class Sandbox {
  readonly dir: string;
  readonly nodes: SandboxNode[] = [];
  nb!: OvsdbServer;
  /** The Southbound server (standalone or TLS); a cluster sandbox has `cluster` instead. */
  sb!: OvsdbServer;
  cluster: OvsdbCluster | undefined;
  registrar: RegistrarProcess | undefined;
  private paused = false;
  readonly southbound: SandboxSouthbound;

  private constructor(dir: string, southbound: SandboxSouthbound) {
    this.dir = dir;
    this.southbound = southbound;
  }

  static async start(opts: {
    computes: number;
    gateways: number;
    dir?: string;
    southbound?: SandboxSouthbound;
    onNode?: (n: SandboxNode) => void;
    /** Nodes with a real ovn-controller (default: all); the others are registered by the registrar. */
    realControllers?: number;
  }): Promise<Sandbox> {
    const s = new Sandbox(opts.dir ?? tempDir('sandbox'), opts.southbound ?? 'standalone');
    try {
      s.nb = await OvsdbServer.start({ schemas: [NB_SCHEMA], dir: join(s.dir, 'northbound') });
      if (s.southbound === 'cluster') s.cluster = await OvsdbCluster.start(SB_SCHEMA, 'OVN_Southbound');
      else {
        const tls = typeof s.southbound === 'object' ? s.southbound.tls : undefined;
        s.sb = await OvsdbServer.start({
          schemas: [SB_SCHEMA],
          dir: join(s.dir, 'southbound'),
          ...(tls ? { ssl: { key: tls.serverKey, cert: tls.serverCert, ca: tls.ca } } : {}),
        });
      }
      const specs = [
        ...Array.from({ length: opts.gateways }, (_, i) => ({ name: `gw-${i + 1}`, group: 'gateway' as const })),
        ...Array.from({ length: opts.computes }, (_, i) => ({ name: `cmp-${i + 1}`, group: 'compute' as const })),
      ];
      const real = opts.realControllers ?? specs.length;
      // One node's database made the ordinary way; the others start from copies of it, a few at a time.
      const first = specs[0];
      if (first) await s.addNode(first.name, first.group, 0, real > 0, opts.onNode);
      const template = s.nodes[0]?.ovsdb.dbFiles[0];
      for (let i = 1; i < specs.length; i += START_AT_ONCE) {
        await Promise.all(specs.slice(i, i + START_AT_ONCE).map((spec, k) => s.addNode(spec.name, spec.group, i + k, i + k < real, opts.onNode, template)));
      }
      const simulated = s.nodes.filter((n) => !n.controller);
      if (simulated.length > 0) s.registrar = await RegistrarProcess.start(s.dir, s.southboundEndpoints[0] as string, simulated.map((n) => ({ name: n.name, db: n.ovsdb.unix })));
    } catch (err) {
      await s.stop();
      throw err;
    }
    return s;
  }

  private async addNode(name: string, group: SandboxNode['group'], i: number, real: boolean, onNode?: (n: SandboxNode) => void, copyOf?: string): Promise<void> {
    const base = join(this.dir, 'nodes', name);
    const ovsdb = await OvsdbServer.start({ dir: join(base, 'ovs'), ...(copyOf ? { copyOf } : {}) });
    let controller: OvnController | undefined;
    if (real) {
      mkdirSync(join(base, 'ovn-controller'), { recursive: true });
      controller = OvnController.start(ovsdb.unix, join(base, 'ovn-controller'));
    }
    // All of 127.0.0.0/8 is this machine's, so every node gets an address of its own.
    const node = { name, group, address: `127.0.${1 + Math.floor(i / 240)}.${10 + (i % 240)}`, ovsdb, controller, stateDir: join(base, 'state') };
    this.nodes[i] = node;
    onNode?.(node);
  }

  /** Where the controller and the nodes reach the Southbound: its unix socket, the cluster members, or its TLS port. */
  get southboundEndpoints(): string[] {
    if (this.cluster) return this.cluster.tcp;
    return typeof this.southbound === 'object' ? [this.sb.ssl] : [this.sb.unix];
  }

  /** The inventory an operator would write for this fleet. */
  inventory(): Record<string, unknown> {
    const tls = typeof this.southbound === 'object' ? this.southbound.tls : undefined;
    return {
      ovn: {
        southbound: this.southboundEndpoints,
        northbound: [this.nb.unix],
        ...(tls ? { tls: { privateKey: tls.clientKey, certificate: tls.clientCert, caCert: tls.ca } } : {}),
      },
      // No data plane here: a lone gateway carries no traffic, so taking it leaves nobody without one.
      defaults: { transport: { kind: 'local' }, encap: { type: 'geneve' }, preflight: { minOtherGateways: 0 } },
      groups: { gateway: { gateway: true, bridgeMappings: { physnet1: 'br-ex' } }, compute: {} },
      hosts: Object.fromEntries(
        this.nodes.map((n) => [
          n.name,
          {
            ...localHostEntry(n),
            // ovn-controller 23.03 without ovs-vswitchd segfaults once it builds tunnels to peer
            // chassis; a transport zone per node means it builds none (tunnels form only inside a zone).
            transportZones: [n.name],
            ...(tls ? { ssl: { privateKey: tls.clientKey, certificate: tls.clientCert, caCert: tls.ca } } : {}),
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

  /**
   * Holds chassis registration back: the ovn-controllers and the registrar
   * stopped (SIGSTOP), so a benchmark measures the controller
   * without the nodes' own work on the same CPUs. resumeRegistration() lets
   * it all catch up.
   */
  pauseRegistration(): void {
    this.paused = true;
    this.signalRegistration('SIGSTOP');
  }

  resumeRegistration(): void {
    if (!this.paused) return;
    this.paused = false;
    this.signalRegistration('SIGCONT');
  }

  private signalRegistration(signal: NodeJS.Signals): void {
    for (const pid of [...this.nodes.map((n) => n.controller?.pid), this.registrar?.pid]) {
      try {
        if (pid) process.kill(pid, signal);
      } catch {
        // Gone already (a test stopped it): nothing to hold or release.
      }
    }
  }

  /** Which nodes a real ovn-controller registers, and which the registrar does (with ovn-sbctl). */
  describeRegistration(): string {
    const real = this.nodes.filter((n) => n.controller).length;
    return `${real} nodes with a real ovn-controller, ${this.nodes.length - real} registered by ovn-sbctl as ovn-controller would`;
  }

  async stop(): Promise<void> {
    this.resumeRegistration();
    await this.registrar?.stop();
    for (const n of this.nodes) await n.controller?.stop();
    for (const n of this.nodes) await n.ovsdb.stop();
    await this.sb?.stop();
    await this.cluster?.stop();
    await this.nb?.stop();
  }
}
