import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { OvsdbServer } from './ovsdb-server.js';
import { freePort, run, tempDir, waitFor } from './procs.js';

/**
 * A real Raft cluster of ovsdb-servers on loopback (ovsdb-tool create-cluster
 * and join-cluster), each member with its own directory, unix socket and a tcp
 * port for clients. Faults are the real ones: kill a member, freeze it
 * (SIGSTOP), cut it off from its peers (cluster/failure-test stop-raft-rpc).
 */
export class OvsdbCluster {
  readonly dir: string;
  readonly db: string;
  readonly members: OvsdbServer[];
  readonly relays: OvsdbServer[] = [];

  private constructor(dir: string, db: string, members: OvsdbServer[]) {
    this.dir = dir;
    this.db = db;
    this.members = members;
  }

  static async start(schema: string, db: string, size = 3): Promise<OvsdbCluster> {
    const dir = tempDir('cluster');
    const raft = await Promise.all(Array.from({ length: size }, () => freePort()));
    const files = raft.map((_, i) => {
      mkdirSync(join(dir, `m${i + 1}`));
      return join(dir, `m${i + 1}`, 'db.db');
    });
    run('ovsdb-tool', ['create-cluster', files[0] as string, schema, `tcp:127.0.0.1:${raft[0]}`]);
    for (let i = 1; i < size; i++) {
      run('ovsdb-tool', ['join-cluster', files[i] as string, db, `tcp:127.0.0.1:${raft[i]}`, `tcp:127.0.0.1:${raft[0]}`]);
    }
    const members = await Promise.all(files.map((f, i) => OvsdbServer.start({ dir: join(dir, `m${i + 1}`), serve: [f], tcp: true })));
    const cluster = new OvsdbCluster(dir, db, members);
    try {
      for (let i = 0; i < size; i++) await waitFor(`member ${i + 1} joined`, () => /Status: cluster member/.test(cluster.status(i)), 20_000);
      await cluster.leader();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** The members' client endpoints, in member order (what an inventory lists). */
  get tcp(): string[] {
    return this.members.map((m) => m.tcp);
  }

  status(i: number): string {
    return (this.members[i] as OvsdbServer).appctl('cluster/status', this.db);
  }

  /** The index of the current leader, once there is one every live member agrees on. */
  async leader(timeoutMs = 20_000): Promise<number> {
    return waitFor(
      'a cluster leader',
      () => {
        const i = this.members.findIndex((m, j) => m.pid !== 0 && !this.frozen.has(j) && /Role: leader/.test(this.status(j)));
        return i >= 0 ? i : undefined;
      },
      timeoutMs,
    );
  }

  private readonly frozen = new Set<number>();

  freeze(i: number): void {
    process.kill((this.members[i] as OvsdbServer).pid, 'SIGSTOP');
    this.frozen.add(i);
  }

  thaw(i: number): void {
    process.kill((this.members[i] as OvsdbServer).pid, 'SIGCONT');
    this.frozen.delete(i);
  }

  /** Cuts member i off from its peers; it goes on serving clients and, after an election timeout, says connected=false. */
  async cutOff(i: number): Promise<void> {
    (this.members[i] as OvsdbServer).appctl('cluster/failure-test', 'stop-raft-rpc');
    await waitFor(`member ${i + 1} to report itself disconnected`, () => this.connectedFlag(i) === false, 20_000);
  }

  heal(i: number): void {
    (this.members[i] as OvsdbServer).appctl('cluster/failure-test', 'clear');
  }

  /** What member i's own _Server row says of its connection to the cluster. */
  connectedFlag(i: number): boolean {
    const out = run('ovsdb-client', ['-f', 'json', 'dump', (this.members[i] as OvsdbServer).unix, '_Server', 'Database', 'name', 'connected']);
    const t = JSON.parse(out) as { data: [boolean, string][]; headings: string[] };
    const c = t.headings.indexOf('connected');
    const n = t.headings.indexOf('name');
    return t.data.find((r) => r[n] === this.db)?.[c] === true;
  }

  /** An OVSDB relay in front of the cluster (ovsdb-server relay:DB:members). */
  async relay(): Promise<OvsdbServer> {
    const r = await OvsdbServer.start({ dir: join(this.dir, `relay${this.relays.length + 1}`), serve: [`relay:${this.db}:${this.tcp.join(',')}`], tcp: true });
    this.relays.push(r);
    return r;
  }

  async stop(): Promise<void> {
    for (const i of [...this.frozen]) this.thaw(i);
    await Promise.all([...this.relays, ...this.members].map((m) => m.stop()));
  }
}
