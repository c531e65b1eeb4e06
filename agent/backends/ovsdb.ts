import {
  OvsdbClient, OvsdbError, OvsdbOperationError, comment, cond, decodeRow, insert, map, mutate, mutation, namedUuid, select, set,
  update, uuid, wait, type ClientOptions, type Operation, type Row, type TlsFiles, type WireValue,
} from '../../ovsdb/index.js';
import { AgentError } from '../errors.js';
import type { NodeAccess } from '../node.js';
import { COLUMNS } from './columns.js';
import { type SslRow, type SslState, decodeSsl } from '../keys.js';
import { type Backend, type NodeState, type PortRow, type PortWrite, type WatchEvent, type WriteSet, splitWrite } from '../state.js';

/** Failures after which a sent transaction may or may not have been committed. */
const LOST = new Set(['CONNECTION_CLOSED', 'PROBE_TIMEOUT', 'REQUEST_TIMEOUT']);

const SSL_COLUMNS = ['private_key', 'certificate', 'ca_cert', 'bootstrap_ca_cert'];

function sslFromRow(r: Row): SslState {
  return { uuid: r._uuid as string, privateKey: r.private_key as string, certificate: r.certificate as string, caCert: r.ca_cert as string, bootstrapCaCert: r.bootstrap_ca_cert === true };
}

function sslColumns(r: SslRow): Record<string, WireValue> {
  return { private_key: r.privateKey, certificate: r.certificate, ca_cert: r.caCert, bootstrap_ca_cert: r.bootstrapCaCert };
}

const DB = 'Open_vSwitch';
const BACKUP_TIMEOUT_MS = 60_000;

/** The native backend: RFC 7047 straight to the node's ovsdb-server. */
export class OvsdbBackend implements Backend {
  readonly description: string;
  readonly client: OvsdbClient;
  private root: string | undefined;

  private readonly endpoint: string;
  private readonly tls: TlsFiles | undefined;

  private constructor(client: OvsdbClient, endpoint: string, tls: TlsFiles | undefined) {
    this.client = client;
    this.endpoint = endpoint;
    this.tls = tls;
    this.description = `ovsdb ${endpoint}`;
  }

  static async connect(endpoint: string, opts: { tls?: TlsFiles } & Partial<ClientOptions> = {}): Promise<OvsdbBackend> {
    try {
      return new OvsdbBackend(await OvsdbClient.connect({ ...opts, endpoint }), endpoint, opts.tls);
    } catch (err) {
      throw new AgentError('UNREACHABLE', `cannot reach the node's OVSDB: ${(err as Error).message}`, { cause: err });
    }
  }

  /** One transaction, so what is read is one consistent snapshot of the node. */
  async read(): Promise<NodeState> {
    const rows = await this.guard(async () => {
      const tables = [COLUMNS.Open_vSwitch, COLUMNS.Bridge, COLUMNS.Port, COLUMNS.SSL, COLUMNS.Manager];
      const res = await this.client.transact(DB, [
        select('Open_vSwitch', [], ['_uuid', 'external_ids', 'other_config', 'ssl', 'manager_options']),
        select('Bridge', [], ['_uuid', 'name', 'ports', 'datapath_type', 'fail_mode']),
        select('Port', [], ['_uuid', 'name']),
        select('SSL', [], ['_uuid', ...SSL_COLUMNS]),
        select('Manager', [], ['_uuid', 'target']),
      ]);
      return tables.map((t, i) => (res[i]?.rows ?? []).map((r) => decodeRow(r, t)));
    });
    const [roots, bridges, ports, ssls, managerRows] = rows as [Row[], Row[], Row[], Row[], Row[]];
    const root = roots[0];
    if (!root) throw new AgentError('NOT_INITIALISED', `${this.description} has no Open_vSwitch row yet (run "ovs-vsctl --no-wait init" or start ovs-vswitchd)`);
    this.root = root._uuid as string;
    const sslRow = ssls.find((r) => r._uuid === (root.ssl as string[])[0]);
    const portName = new Map(ports.map((p) => [p._uuid as string, p.name as string]));
    const referenced = new Set(root.manager_options as string[]);
    return {
      externalIds: root.external_ids as Map<string, string>,
      otherConfig: root.other_config as Map<string, string>,
      ssl: sslRow ? sslFromRow(sslRow) : undefined,
      managers: managerRows.filter((m) => referenced.has(m._uuid as string)).map((m) => ({ uuid: m._uuid as string, target: m.target as string })),
      bridges: new Map(bridges.map((b) => [b.name as string, (b.ports as string[]).map((u) => portName.get(u) ?? u)])),
      bridgeModes: new Map(bridges.map((b) => [b.name as string, { datapathType: b.datapath_type as string, failMode: (b.fail_mode as string[])[0] ?? '' }])),
    };
  }

  async write(expected: NodeState, w: WriteSet): Promise<void> {
    if (!this.root) await this.read();
    const rootWhere = [cond('_uuid', '==', uuid(this.root as string))];
    const had = expected.ssl;
    const managers = expected.managers ?? [];
    const ops: Operation[] = [
      wait('Open_vSwitch', rootWhere, ['external_ids', 'other_config', 'ssl', 'manager_options'], '==', [{
        external_ids: map(expected.externalIds),
        other_config: map(expected.otherConfig ?? new Map()),
        ssl: set(had ? [uuid(had.uuid)] : []),
        manager_options: set(managers.map((m) => uuid(m.uuid))),
      }], 0),
    ];
    if (had) ops.push(wait('SSL', [cond('_uuid', '==', uuid(had.uuid))], SSL_COLUMNS, '==', [sslColumns(had)], 0));
    const { set: ids, remove: gone, otherConfig, ssl, managers: mgr } = splitWrite(w);
    for (const [column, change] of [['external_ids', { set: ids, remove: gone }], ['other_config', otherConfig]] as const) {
      const touched = [...Object.keys(change.set), ...change.remove];
      if (touched.length === 0) continue;
      ops.push(mutate('Open_vSwitch', rootWhere, [
        mutation(column, 'delete', set(touched)),
        ...(Object.keys(change.set).length > 0 ? [mutation(column, 'insert', map(change.set))] : []),
      ]));
    }
    // Manager rows are not roots either: dropping the reference deletes the row.
    const dropped = managers.filter((m) => mgr.remove.includes(m.target)).map((m) => uuid(m.uuid));
    if (dropped.length > 0) ops.push(mutate('Open_vSwitch', rootWhere, [mutation('manager_options', 'delete', set(dropped))]));
    mgr.add.forEach((target, i) => {
      ops.push(insert('Manager', { target }, { uuidName: `m${i}` }));
      ops.push(mutate('Open_vSwitch', rootWhere, [mutation('manager_options', 'insert', set([namedUuid(`m${i}`)]))]));
    });
    // The SSL table is not a root: the row goes away with the last reference to it.
    if (ssl === null) ops.push(update('Open_vSwitch', rootWhere, { ssl: set([]) }));
    else if (ssl !== undefined) {
      ops.push(insert('SSL', sslColumns(decodeSsl(ssl)), { uuidName: 'ssl' }));
      ops.push(update('Open_vSwitch', rootWhere, { ssl: namedUuid('ssl') }));
    }
    let n = 0;
    const addPort = (name: string, type?: string): string => {
      const id = `p${n++}`;
      // Each new port must not exist yet: a concurrent creator turns this into a conflict and a re-read.
      ops.push(wait('Port', [cond('name', '==', name)], ['name'], '==', [], 0));
      ops.push(insert('Interface', { name, ...(type ? { type } : {}) }, { uuidName: `${id}i` }));
      ops.push(insert('Port', { name, interfaces: namedUuid(`${id}i`) }, { uuidName: id }));
      return id;
    };
    for (const b of w.bridges) {
      ops.push(wait('Bridge', [cond('name', '==', b.name)], ['name'], '==', [], 0));
      const portIds = [addPort(b.name, 'internal'), ...(b.uplink ? [addPort(b.uplink)] : [])];
      const brId = `b${n++}`;
      ops.push(insert('Bridge', {
        name: b.name, ports: set(portIds.map(namedUuid)),
        ...(b.datapathType ? { datapath_type: b.datapathType } : {}), ...(b.failMode ? { fail_mode: b.failMode } : {}),
      }, { uuidName: brId }));
      ops.push(mutate('Open_vSwitch', rootWhere, [mutation('bridges', 'insert', set([namedUuid(brId)]))]));
    }
    for (const p of w.ports) {
      const id = addPort(p.port);
      ops.push(mutate('Bridge', [cond('name', '==', p.bridge)], [mutation('ports', 'insert', set([namedUuid(id)]))]));
    }
    ops.push(comment('ovn-chassis-agent: apply chassis configuration'));
    await this.transactWrite(ops);
  }

  /** A guarded write: a failed wait is a conflict (nothing written), a lost connection an unknown outcome. */
  private async transactWrite(ops: Operation[]): Promise<void> {
    try {
      await this.client.transact(DB, ops);
    } catch (err) {
      if (err instanceof OvsdbOperationError && err.isConflict) throw new AgentError('CONFLICT', 'the node\'s OVSDB changed since it was read', { cause: err });
      if (err instanceof OvsdbError && LOST.has(err.code)) {
        throw new AgentError('OUTCOME_UNKNOWN', `${this.description}: the connection was lost while the change was being written (${err.message}): it may or may not have been made; run diff to see`, { cause: err });
      }
      return this.guard(() => Promise.reject(err));
    }
  }

  async ports(bridge: string): Promise<PortRow[] | undefined> {
    const [brs, ports, ifaces] = await this.guard(async () => {
      const res = await this.client.transact(DB, [
        select('Bridge', [cond('name', '==', bridge)], ['_uuid', 'ports']),
        select('Port', [], ['_uuid', 'name', 'interfaces']),
        select('Interface', [], ['_uuid', 'external_ids']),
      ]);
      return [COLUMNS.Bridge, COLUMNS.Port, COLUMNS.Interface].map((t, i) => (res[i]?.rows ?? []).map((r) => decodeRow(r, t)));
    }) as [Row[], Row[], Row[]];
    const br = brs[0];
    if (!br) return undefined;
    const mine = new Set(br.ports as string[]);
    const ids = new Map(ifaces.map((i) => [i._uuid as string, i.external_ids as Map<string, string>]));
    return ports
      .filter((p) => mine.has(p._uuid as string))
      .map((p) => ({ name: p.name as string, uuid: p._uuid as string, externalIds: ids.get((p.interfaces as string[])[0] ?? '') ?? new Map<string, string>() }));
  }

  async writePorts(bridge: string, w: PortWrite): Promise<void> {
    const where = [cond('name', '==', bridge)];
    const ops: Operation[] = [];
    w.add.forEach((p, i) => {
      // A port of that name appearing meanwhile (anyone's) makes this a conflict and a re-read.
      ops.push(wait('Port', [cond('name', '==', p.name)], ['name'], '==', [], 0));
      ops.push(insert('Interface', { name: p.name, external_ids: map(new Map(Object.entries(p.externalIds))) }, { uuidName: `i${i}` }));
      ops.push(insert('Port', { name: p.name, interfaces: namedUuid(`i${i}`) }, { uuidName: `p${i}` }));
    });
    if (w.add.length > 0) ops.push(mutate('Bridge', where, [mutation('ports', 'insert', set(w.add.map((_, i) => namedUuid(`p${i}`))))]));
    for (const p of w.remove) {
      // Removed only while it is still the port we read, with the Interface marks we read.
      ops.push(wait('Port', [cond('_uuid', '==', uuid(p.uuid))], ['name'], '==', [{ name: p.name }], 0));
      ops.push(wait('Interface', [cond('name', '==', p.name)], ['external_ids'], '==', [{ external_ids: map(p.externalIds) }], 0));
    }
    if (w.remove.length > 0) ops.push(mutate('Bridge', where, [mutation('ports', 'delete', set(w.remove.map((p) => uuid(p.uuid))))]));
    ops.push(comment('ovn-chassis-agent: plug or unplug VIFs'));
    await this.transactWrite(ops);
  }

  backup(node: NodeAccess): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const t = this.tls;
    if (t && !(typeof t.key === 'string' && typeof t.cert === 'string' && typeof t.ca === 'string')) {
      return Promise.resolve({ code: null, stdout: '', stderr: 'ovsdb-client needs the TLS files as paths; this agent was given their contents' });
    }
    const tls = t ? ['-p', t.key as string, '-c', t.cert as string, '-C', t.ca as string] : [];
    return node.run(['ovsdb-client', ...tls, 'backup', this.endpoint, DB], BACKUP_TIMEOUT_MS);
  }

  async ovsVersion(): Promise<string | undefined> {
    const [res] = await this.guard(() => this.client.transact(DB, [select('Open_vSwitch', [], ['_uuid', 'ovs_version'])]));
    const root = res?.rows?.[0];
    const v = root ? (decodeRow(root, COLUMNS.Open_vSwitch).ovs_version as string[]) : undefined;
    return v && v.length > 0 ? v[0] : undefined;
  }

  async watch(on: (event: WatchEvent) => void): Promise<() => void> {
    const m = await this.client.monitor(DB, {
      Open_vSwitch: { columns: ['external_ids', 'other_config', 'bridges', 'ssl', 'manager_options'] },
      Bridge: { columns: ['name', 'ports'] },
      SSL: { columns: SSL_COLUMNS },
      Manager: { columns: ['target'] },
    });
    const change = () => on({ kind: 'change' });
    const back = () => on({ kind: 'reconnected' });
    const lost = (err: Error) => on({ kind: 'lost', why: err?.message ?? 'connection lost' });
    m.on('change', change);
    this.client.on('reconnected', back);
    this.client.on('disconnected', lost);
    return () => {
      m.off('change', change);
      this.client.off('reconnected', back);
      this.client.off('disconnected', lost);
    };
  }

  async close(): Promise<void> {
    this.client.close();
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof AgentError) throw err;
      if (err instanceof OvsdbOperationError) throw new AgentError('BACKEND_FAILED', `${this.description}: ${err.message}`, { cause: err });
      if (err instanceof OvsdbError) throw new AgentError('UNREACHABLE', `${this.description}: ${err.message}`, { cause: err });
      throw err;
    }
  }
}
