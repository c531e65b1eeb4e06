import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { OvnController } from './ovn-controller.js';
import { NB_SCHEMA, OvsdbServer, SB_SCHEMA } from './ovsdb-server.js';
import { localHostEntry } from './sandbox.js';
import { type Spawned, run, spawnServer, stopPid, tempDir, waitFor } from './procs.js';

/** Every namespace a datapath sandbox makes starts with this, so a teardown can find what a crash left. */
export const NETNS_PREFIX = 'ocx';

/** The provider network (a flat network on a shared segment) and the tenant (overlay) network the VMs sit on. */
const PROVIDER_NET = '192.168.100';
const TENANT_NET = '10.0.0';
const UNDERLAY_NET = '10.250.0';
/** The router's port on the provider network, whose gateway chassis are the gateway nodes. */
const GATEWAY_PORT = 'lrp-gateway';
const ROUTER_GATEWAY_IP = `${PROVIDER_NET}.254`;
/** The tenant network's MTU: the underlay's 1500 less Geneve's 58 bytes of headers (IPv4, OVN's options). */
export const TENANT_MTU = 1442;

export interface DatapathVm {
  name: string;
  netns: string;
  network: 'provider' | 'tenant';
  ip: string;
  mac: string;
  /** The neutron port id: the logical switch port's name. */
  port: string;
  vmId: string;
  tap: string;
  host: string;
}

export interface DatapathNode {
  name: string;
  systemId: string;
  /** nova's config on the node: its [DEFAULT] host, which the chassis hostname must match. */
  novaConf: string;
  group: 'gateway' | 'compute';
  netns: string;
  underlayIp: string;
  ovsdb: OvsdbServer;
  vswitchd: Spawned;
  controller: OvnController;
  stateDir: string;
  /** The veth that br-ex takes as its uplink once the node is migrated. */
  providerUplink: string;
}

/**
 * A sandbox with a real data plane. Central: a Northbound, a Southbound and
 * ovn-northd. A fabric namespace with two Linux bridges stands for the
 * physical network: the provider segment (a flat network) and the underlay.
 * Per node, a network namespace with its own ovsdb-server, ovs-vswitchd on
 * the userspace datapath and ovn-controller; before migration its VMs' taps
 * sit on Linux bridges (the old dataplane: one on the provider segment, one
 * on a segment standing for the old SDN's tenant tunnels). VMs are network
 * namespaces whose veth peers are the taps. Everything it made is removed by
 * stop(): processes by pid, namespaces (and the veths in them) by name.
 */
export class DatapathSandbox {
  readonly dir: string;
  readonly prefix: string;
  readonly nodes: DatapathNode[] = [];
  readonly vms: DatapathVm[] = [];
  nb!: OvsdbServer;
  sb!: OvsdbServer;
  private northd: Spawned | undefined;
  private readonly namespaces: string[] = [];

  private constructor(dir: string) {
    this.dir = dir;
    this.prefix = `${NETNS_PREFIX}${randomBytes(2).toString('hex')}`;
  }

  get fabric(): string {
    return `${this.prefix}-fabric`;
  }

  static async start(opts: { gateways: number; computes: number; vmsPerNode: number }): Promise<DatapathSandbox> {
    const s = new DatapathSandbox(tempDir('datapath'));
    try {
      await s.build(opts);
    } catch (err) {
      await s.stop();
      throw err;
    }
    return s;
  }

  private async build(opts: { gateways: number; computes: number; vmsPerNode: number }): Promise<void> {
    this.nb = await OvsdbServer.start({ schemas: [NB_SCHEMA], dir: join(this.dir, 'northbound') });
    this.sb = await OvsdbServer.start({ schemas: [SB_SCHEMA], dir: join(this.dir, 'southbound') });
    const northdDir = join(this.dir, 'northd');
    mkdirSync(northdDir);
    this.northd = spawnServer('ovn-northd', [`--ovnnb-db=${this.nb.unix}`, `--ovnsb-db=${this.sb.unix}`, `--pidfile=${join(northdDir, 'pid')}`, `--log-file=${join(northdDir, 'log')}`, '-vconsole:off'], {
      env: { ...process.env, OVN_RUNDIR: northdDir },
    });
    this.nbctl('ls-add', 'provider', '--', 'lsp-add', 'provider', 'ln-provider', '--', 'lsp-set-type', 'ln-provider', 'localnet',
      '--', 'lsp-set-addresses', 'ln-provider', 'unknown', '--', 'lsp-set-options', 'ln-provider', 'network_name=physnet1');
    this.nbctl('ls-add', 'tenant');

    this.addNetns(this.fabric);
    for (const br of ['prov', 'ten', 'ul']) {
      this.inNs(this.fabric, 'ip', 'link', 'add', br, 'type', 'bridge');
      this.inNs(this.fabric, 'ip', 'link', 'set', br, 'up');
    }
    const specs = [
      ...Array.from({ length: opts.gateways }, (_, i) => ({ name: `gw-${i + 1}`, group: 'gateway' as const })),
      ...Array.from({ length: opts.computes }, (_, i) => ({ name: `cmp-${i + 1}`, group: 'compute' as const })),
    ];
    for (const [i, spec] of specs.entries()) await this.addNode(spec.name, spec.group, i);
    for (const [i, node] of this.nodes.entries()) {
      for (let j = 0; j < opts.vmsPerNode; j++) this.addVm(node, i * opts.vmsPerNode + j, j % 2 === 0 ? 'provider' : 'tenant');
    }
    this.addRouter();
  }

  /**
   * A router between the tenant network and the provider network, its
   * gateway port on the gateway nodes (the first one preferred), and an
   * external host on the provider segment that reaches the tenant network
   * through it: traffic that must cross a gateway chassis.
   */
  private addRouter(): void {
    this.nbctl('lr-add', 'router', '--', 'lrp-add', 'router', 'lrp-tenant', 'fa:16:3e:ff:00:01', `${TENANT_NET}.1/24`,
      '--', 'lrp-add', 'router', GATEWAY_PORT, 'fa:16:3e:ff:00:02', `${ROUTER_GATEWAY_IP}/24`,
      '--', 'lsp-add', 'tenant', 'rp-tenant', '--', 'lsp-set-type', 'rp-tenant', 'router', '--', 'lsp-set-addresses', 'rp-tenant', 'router',
      '--', 'lsp-set-options', 'rp-tenant', 'router-port=lrp-tenant',
      '--', 'lsp-add', 'provider', 'rp-gateway', '--', 'lsp-set-type', 'rp-gateway', 'router', '--', 'lsp-set-addresses', 'rp-gateway', 'router',
      '--', 'lsp-set-options', 'rp-gateway', `router-port=${GATEWAY_PORT}`);
    this.nodes.filter((n) => n.group === 'gateway').forEach((n, i) => this.nbctl('lrp-set-gateway-chassis', GATEWAY_PORT, n.systemId, String(20 - i * 10)));
    this.addNetns(this.external.netns);
    this.veth(this.external.netns, 'eth0', this.fabric, `${this.prefix}E`);
    this.inNs(this.fabric, 'ip', 'link', 'set', `${this.prefix}E`, 'master', 'prov');
    this.inNs(this.external.netns, 'ip', 'addr', 'add', `${this.external.ip}/24`, 'dev', 'eth0');
    this.inNs(this.external.netns, 'ip', 'route', 'add', `${TENANT_NET}.0/24`, 'via', ROUTER_GATEWAY_IP);
  }

  /** A host outside the cloud, on the provider segment, routing to the tenant network through the router's gateway port. */
  get external(): { name: string; netns: string; ip: string } {
    return { name: 'external', netns: `${this.prefix}-ext`, ip: `${PROVIDER_NET}.250` };
  }

  /** Which chassis (by node name) holds the router's gateway port now, if any. */
  activeGateway(): string | undefined {
    const out = this.sbctl('--bare', '--columns=chassis', 'find', 'Port_Binding', `logical_port=cr-${GATEWAY_PORT}`);
    if (!out) return undefined;
    const name = this.sbctl('--bare', '--columns=name', 'list', 'Chassis', out);
    return this.nodes.find((n) => n.systemId === name)?.name;
  }

  /** The router's gateway port's priorities, by node name. */
  gatewayPriorities(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const line of this.nbctl('lrp-get-gateway-chassis', GATEWAY_PORT).split('\n')) {
      const [name, prio] = line.trim().split(/\s+/);
      const node = this.nodes.find((n) => name?.startsWith(`${GATEWAY_PORT}-${n.systemId}`));
      if (node && prio) out[node.name] = Number(prio);
    }
    return out;
  }

  nbctl(...args: string[]): string {
    return run('ovn-nbctl', [`--db=${this.nb.unix}`, '--timeout=10', ...args]).trim();
  }

  sbctl(...args: string[]): string {
    return run('ovn-sbctl', [`--db=${this.sb.unix}`, '--timeout=10', ...args]).trim();
  }

  /** Runs a command in a namespace's network only (nsenter): "ip netns exec" also mounts sysfs, which can fail under load. */
  inNs(netns: string, ...argv: string[]): string {
    return run('nsenter', [`--net=/run/netns/${netns}`, '--', ...argv]);
  }

  private addNetns(name: string): void {
    run('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    this.inNs(name, 'ip', 'link', 'set', 'lo', 'up');
  }

  /** A veth pair with one end in `a` (named `aName`) and the other in `b`, both up. */
  private veth(a: string, aName: string, b: string, bName: string): void {
    // Made in their namespaces at once: a name taken in this one (eth0) is free there.
    run('ip', ['link', 'add', aName, 'netns', a, 'type', 'veth', 'peer', 'name', bName, 'netns', b]);
    this.inNs(a, 'ip', 'link', 'set', aName, 'up');
    this.inNs(b, 'ip', 'link', 'set', bName, 'up');
  }

  private async addNode(name: string, group: DatapathNode['group'], i: number): Promise<void> {
    const p = this.prefix;
    const netns = `${p}-${name}`;
    const base = join(this.dir, 'nodes', name);
    const runDir = join(base, 'run');
    mkdirSync(runDir, { recursive: true });
    this.addNetns(netns);
    const ovsdb = await OvsdbServer.start({ dir: join(base, 'ovs') });
    // vswitchd and ovn-controller share a run dir of the node's own: ovn-controller opens RUNDIR/br-int.mgmt.
    const env = { ...process.env, OVS_RUNDIR: runDir, OVN_RUNDIR: runDir, OVS_LOGDIR: base, OVN_LOGDIR: base };
    const vswitchd = spawnServer('ip', ['netns', 'exec', netns, 'ovs-vswitchd', ovsdb.unix, '--disable-system', `--pidfile=${join(base, 'vswitchd.pid')}`,
      `--unixctl=${join(runDir, 'ovs-vswitchd.ctl')}`, `--log-file=${join(base, 'vswitchd.log')}`, '-vconsole:off'], { env });
    // The node's underlay: on a userspace datapath the tunnel endpoint's address sits on a netdev bridge holding the underlay NIC.
    const underlayIp = `${UNDERLAY_NET}.${10 + i}`;
    this.veth(netns, `${p}u${i}`, this.fabric, `${p}U${i}`);
    this.inNs(this.fabric, 'ip', 'link', 'set', `${p}U${i}`, 'master', 'ul');
    // The kernel stays off the NIC OVS holds, or it answers too and every packet arrives twice.
    this.inNs(netns, 'ip', 'link', 'set', `${p}u${i}`, 'arp', 'off');
    this.inNs(netns, 'sysctl', '-qw', `net.ipv6.conf.${p}u${i}.disable_ipv6=1`);
    ovsdb.vsctl('add-br', 'br-phy', '--', 'set', 'bridge', 'br-phy', 'datapath_type=netdev', '--', 'add-port', 'br-phy', `${p}u${i}`);
    await waitFor(`${name}: br-phy in its namespace`, () => {
      try {
        this.inNs(netns, 'ip', 'link', 'show', 'br-phy');
        return true;
      } catch {
        return undefined;
      }
    });
    this.inNs(netns, 'ip', 'addr', 'add', `${underlayIp}/24`, 'dev', 'br-phy');
    this.inNs(netns, 'ip', 'link', 'set', 'br-phy', 'up');
    // The old dataplane: a Linux bridge per network, each with an uplink into its fabric segment.
    for (const [seg, letter] of [['prov', 'o'], ['ten', 't']] as const) {
      const bridge = oldBridge(seg === 'prov' ? 'provider' : 'tenant');
      this.inNs(netns, 'ip', 'link', 'add', bridge, 'type', 'bridge');
      this.inNs(netns, 'ip', 'link', 'set', bridge, 'up');
      this.veth(netns, `${p}${letter}${i}`, this.fabric, `${p}${letter.toUpperCase()}${i}`);
      this.inNs(netns, 'ip', 'link', 'set', `${p}${letter}${i}`, 'master', bridge);
      this.inNs(this.fabric, 'ip', 'link', 'set', `${p}${letter.toUpperCase()}${i}`, 'master', seg);
    }
    // The provider NIC br-ex takes once OVN carries the node (not in any bridge until then).
    const providerUplink = `${p}x${i}`;
    this.veth(netns, providerUplink, this.fabric, `${p}X${i}`);
    this.inNs(this.fabric, 'ip', 'link', 'set', `${p}X${i}`, 'master', 'prov');
    const controller = OvnController.start(ovsdb.unix, join(base, 'ovn-controller'), { netns, runDir });
    const novaConf = join(base, 'nova.conf');
    writeFileSync(novaConf, `[DEFAULT]\nhost = ${name}\n`);
    this.nodes.push({ name, systemId: randomUUID(), novaConf, group, netns, underlayIp, ovsdb, vswitchd, controller, stateDir: join(base, 'state'), providerUplink });
  }

  /** A VM on `host` whose port the Northbound does not have (a binding list out of date): its VIF can never be bound. */
  addStrayVm(host: string): DatapathVm {
    const node = this.nodes.find((n) => n.name === host);
    if (!node) throw new Error(`no node ${host}`);
    return this.addVm(node, this.vms.length, 'provider', false);
  }

  private addVm(node: DatapathNode, k: number, network: DatapathVm['network'], inNorthbound = true): DatapathVm {
    const port = randomUUID();
    const vm: DatapathVm = {
      name: `vm-${k + 1}`, netns: `${this.prefix}-vm${k + 1}`, network, host: node.name, port, vmId: randomUUID(), tap: `tap${port.slice(0, 11)}`,
      ip: `${network === 'provider' ? PROVIDER_NET : TENANT_NET}.${10 + k}`,
      mac: `fa:16:3e:00:${(k >> 8).toString(16).padStart(2, '0')}:${(k & 0xff).toString(16).padStart(2, '0')}`,
    };
    this.addNetns(vm.netns);
    this.veth(node.netns, vm.tap, vm.netns, 'eth0');
    this.inNs(vm.netns, 'ip', 'link', 'set', 'eth0', 'address', vm.mac);
    if (network === 'tenant') this.inNs(vm.netns, 'ip', 'link', 'set', 'eth0', 'mtu', String(TENANT_MTU));
    this.inNs(vm.netns, 'ip', 'addr', 'add', `${vm.ip}/24`, 'dev', 'eth0');
    if (network === 'tenant') this.inNs(vm.netns, 'ip', 'route', 'add', 'default', 'via', `${TENANT_NET}.1`);
    this.inNs(node.netns, 'ip', 'link', 'set', vm.tap, 'master', oldBridge(network));
    if (inNorthbound) this.nbctl('lsp-add', network, port, '--', 'lsp-set-addresses', port, `${vm.mac} ${vm.ip}`);
    this.vms.push(vm);
    return vm;
  }

  /** The bridge a VM's tap is on now: an old dataplane bridge's name, or the OVS bridge's. */
  tapBridge(vm: DatapathVm): string | undefined {
    const node = this.nodes.find((n) => n.name === vm.host) as DatapathNode;
    const link = JSON.parse(this.inNs(node.netns, 'ip', '-j', 'link', 'show', 'dev', vm.tap)) as { master?: string }[];
    if (link[0]?.master) return link[0].master;
    try {
      return node.ovsdb.vsctl('port-to-br', vm.tap);
    } catch {
      return undefined;
    }
  }

  /** Whether `from` gets replies from `to` now (a few pings, a second each at most). */
  pings(from: { netns: string }, to: DatapathVm): boolean {
    try {
      this.inNs(from.netns, 'ping', '-n', '-q', '-c', '3', '-i', '0.2', '-W', '1', to.ip);
      return true;
    } catch {
      return false;
    }
  }

  /** The binding list an operator would export for these VMs (openstack port show's fields). */
  bindings(): Record<string, string>[] {
    return this.vms.map((v) => ({ id: v.port, mac_address: v.mac, device_id: v.vmId, binding_host_id: v.host }));
  }

  /** The inventory an operator would write for this fleet. */
  inventory(): Record<string, unknown> {
    return {
      ovn: { southbound: [this.sb.unix], northbound: [this.nb.unix] },
      defaults: {
        encap: { type: 'geneve' },
        integrationBridgeDatapathType: 'netdev',
        bridgeMappings: { physnet1: 'br-ex' },
      },
      groups: { gateway: { gateway: true }, compute: {} },
      rollout: { order: ['gateway', 'compute'], probes: this.probes() },
      hosts: Object.fromEntries(
        this.nodes.map((n) => [
          n.name,
          {
            ...localHostEntry({ ...n, address: n.underlayIp }, { netns: n.netns }),
            systemId: n.systemId,
            preflight: { novaConf: n.novaConf },
            bridges: [{ name: 'br-ex', uplink: n.providerUplink, datapathType: 'netdev' }],
          },
        ]),
      ),
    };
  }

  writeInventory(path = join(this.dir, 'inventory.yaml')): string {
    writeFileSync(path, `# a datapath sandbox made by ovn-chassis (${this.nodes.length} nodes, ${this.vms.length} VMs)\n${stringify(this.inventory())}`);
    return path;
  }

  writeBindings(path = join(this.dir, 'bindings.json')): string {
    writeFileSync(path, `${JSON.stringify(this.bindings(), null, 2)}\n`);
    return path;
  }

  /** A continuous ping (10 ms, each silence said: -O) from a VM or the external host to a VM, as a rollout probe runs it. */
  pingCommand(from: { netns: string }, to: DatapathVm): string[] {
    return ['nsenter', `--net=/run/netns/${from.netns}`, '--', 'ping', '-D', '-O', '-n', '-i', '0.01', to.ip];
  }

  /**
   * Probes for a rollout: each provider VM to a provider VM on another node
   * (the path that must hold all along), each tenant VM to a tenant VM on
   * another node (across the overlay once both ends moved), and the external
   * host to each tenant VM (through the gateway router).
   */
  probes(): { name: string; command: string[] }[] {
    const out: { name: string; command: string[] }[] = [];
    for (const network of ['provider', 'tenant'] as const) {
      const vms = this.vms.filter((v) => v.network === network);
      for (const [i, v] of vms.entries()) {
        const peer = vms.slice(i + 1).concat(vms.slice(0, i)).find((p) => p.host !== v.host);
        if (peer) out.push({ name: `${v.name}@${v.host} -> ${peer.name}@${peer.host} (${network})`, command: this.pingCommand(v, peer) });
      }
    }
    for (const v of this.vms.filter((x) => x.network === 'tenant')) out.push({ name: `external -> ${v.name}@${v.host} (via router)`, command: this.pingCommand(this.external, v) });
    return out;
  }

  async stop(): Promise<void> {
    for (const n of this.nodes) await n.controller.stop();
    for (const n of this.nodes) await stopPid(n.vswitchd.pid);
    for (const n of this.nodes) await n.ovsdb.stop();
    if (this.northd) await stopPid(this.northd.pid);
    await this.sb?.stop();
    await this.nb?.stop();
    for (const ns of this.namespaces.splice(0).reverse()) {
      try {
        run('ip', ['netns', 'delete', ns]);
      } catch {
        // Gone already.
      }
    }
  }
}

/** The old dataplane's Linux bridge on a node for a network. */
export function oldBridge(network: 'provider' | 'tenant'): string {
  return network === 'provider' ? 'old-provider' : 'old-tenant';
}
