import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Monitor, OvsdbClient } from '../ovsdb/index.js';
import { helperStarted, startHelper, stopPid } from './procs.js';

/** What ovn-controller would register for a node, from the node's Open_vSwitch external_ids. */
interface Registration {
  name: string;
  hostname: string;
  types: string;
  ip: string;
  cms: string;
}

function registrationOf(ids: Map<string, string> | undefined): Registration | undefined {
  const name = ids?.get('system-id');
  const types = ids?.get('ovn-encap-type');
  const ip = ids?.get('ovn-encap-ip');
  if (!ids || !name || !types || !ip || !ids.get('ovn-remote')) return undefined;
  return { name, hostname: ids.get('hostname') ?? name, types, ip, cms: ids.get('ovn-cms-options') ?? '' };
}

/** Nodes registered per ovn-sbctl run. */
const BATCH = 100;

const same = (a: Registration | undefined, b: Registration | undefined) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Stands in for ovn-controller on sandbox nodes beyond the real ones a
 * machine can hold: it watches each node's Open_vSwitch external_ids and
 * registers the chassis in the real Southbound with ovn-sbctl, as
 * ovn-controller would (the Chassis row named by system-id with its Encap
 * rows, its hostname, and ovn-cms-options in other_config). A node whose
 * system-id or encap changes is registered afresh; one that loses them is
 * unregistered.
 */
class Registrar {
  private readonly southbound: string;
  private readonly clients: OvsdbClient[] = [];
  private readonly registered = new Map<string, Registration | undefined>();
  /** Registrations not yet run, by node: what the Southbound holds for it, and what it should hold. */
  private readonly pending = new Map<string, { before: Registration | undefined; want: Registration | undefined }>();
  private draining: Promise<void> | undefined;
  private closed = false;

  private constructor(southbound: string) {
    this.southbound = southbound;
  }

  static async start(southbound: string, nodes: { name: string; db: string }[]): Promise<Registrar> {
    const r = new Registrar(southbound);
    for (let i = 0; i < nodes.length; i += 50) await Promise.all(nodes.slice(i, i + 50).map((n) => r.watch(n.name, n.db)));
    return r;
  }

  private async watch(node: string, db: string): Promise<void> {
    const client = await OvsdbClient.connect({ endpoint: db, reconnect: true });
    this.clients.push(client);
    const monitor: Monitor = await client.monitor('Open_vSwitch', { Open_vSwitch: { columns: ['external_ids'] } });
    const check = () => {
      const row = monitor.rows('Open_vSwitch')[0];
      const want = registrationOf(row?.external_ids as Map<string, string> | undefined);
      if (!same(want, this.registered.get(node))) this.enqueue(node, want);
    };
    monitor.on('change', check);
    check();
  }

  private enqueue(node: string, want: Registration | undefined): void {
    const before = this.registered.get(node);
    this.registered.set(node, want);
    // Not run yet: the Southbound still holds what the earlier entry started from.
    this.pending.set(node, { before: this.pending.get(node)?.before ?? before, want });
    this.draining ??= this.drain();
  }

  /** Runs what is pending, many nodes to one ovn-sbctl transaction, as ovn-controllers registering at once would. */
  private async drain(): Promise<void> {
    while (this.pending.size > 0 && !this.closed) {
      const batch = [...this.pending].slice(0, BATCH);
      for (const [n] of batch) this.pending.delete(n);
      await this.sbctl(batch.map(([, r]) => r)).catch((err: Error) => void process.stderr.write(`registrar: ${err.message}\n`));
    }
    this.draining = undefined;
  }

  /** One ovn-sbctl transaction: each node's old chassis out, its new one in. */
  private sbctl(batch: { before: Registration | undefined; want: Registration | undefined }[]): Promise<void> {
    const args = [`--db=${this.southbound}`];
    for (const { before, want } of batch) {
      if (before) args.push('--', '--if-exists', 'chassis-del', before.name);
      if (!want) continue;
      if (!before || before.name !== want.name) args.push('--', '--if-exists', 'chassis-del', want.name);
      args.push('--', 'chassis-add', want.name, want.types, want.ip);
      args.push('--', 'set', 'Chassis', want.name, `hostname="${want.hostname}"`, `other_config:ovn-cms-options="${want.cms}"`);
    }
    return new Promise((resolve, reject) => execFile('ovn-sbctl', args, { maxBuffer: 16 * 1024 * 1024 }, (err) => (err ? reject(err) : resolve())));
  }

  async stop(): Promise<void> {
    this.closed = true;
    for (const c of this.clients) c.close();
    await this.draining;
  }
}

/**
 * The registrar in a process of its own, so that its work never counts as
 * the controller's in a benchmark, and pausing it is a SIGSTOP.
 */
export class RegistrarProcess {
  readonly pid: number;

  private constructor(pid: number) {
    this.pid = pid;
  }

  static async start(dir: string, southbound: string, nodes: { name: string; db: string }[]): Promise<RegistrarProcess> {
    return new RegistrarProcess(await startHelper(fileURLToPath(import.meta.url), dir, 'registrar', nodes, `the registrar watching ${nodes.length} nodes`, [southbound]));
  }

  async stop(): Promise<void> {
    await stopPid(this.pid);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { args, data, ready } = helperStarted<{ name: string; db: string }[]>();
  const registrar = await Registrar.start(args[0] as string, data);
  ready();
  process.once('SIGTERM', () => void registrar.stop().then(() => process.exit(0)));
}
