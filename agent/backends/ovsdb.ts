import {
  OvsdbClient, OvsdbError, OvsdbOperationError, comment, cond, insert, map, mutate, mutation, namedUuid, set,
  uuid, wait, type ClientOptions, type Operation, type TlsFiles,
} from '../../ovsdb/index.js';
import { AgentError } from '../errors.js';
import type { Backend, NodeState, WriteSet } from '../state.js';

const DB = 'Open_vSwitch';

/** The native backend: RFC 7047 straight to the node's ovsdb-server. */
export class OvsdbBackend implements Backend {
  readonly description: string;
  readonly client: OvsdbClient;
  private root: string | undefined;

  private constructor(client: OvsdbClient, endpoint: string) {
    this.client = client;
    this.description = `ovsdb ${endpoint}`;
  }

  static async connect(endpoint: string, opts: { tls?: TlsFiles } & Partial<ClientOptions> = {}): Promise<OvsdbBackend> {
    try {
      return new OvsdbBackend(await OvsdbClient.connect({ ...opts, endpoint }), endpoint);
    } catch (err) {
      throw new AgentError('UNREACHABLE', `cannot reach the node's OVSDB: ${(err as Error).message}`, { cause: err });
    }
  }

  async read(): Promise<NodeState> {
    const [roots, bridges, ports] = await this.guard(() =>
      Promise.all([
        this.client.select(DB, 'Open_vSwitch', [], ['external_ids']),
        this.client.select(DB, 'Bridge', [], ['name', 'ports']),
        this.client.select(DB, 'Port', [], ['name']),
      ]),
    );
    const root = roots[0];
    if (!root) throw new AgentError('NOT_INITIALISED', `${this.description} has no Open_vSwitch row yet (run "ovs-vsctl --no-wait init" or start ovs-vswitchd)`);
    this.root = root._uuid as string;
    const portName = new Map(ports.map((p) => [p._uuid as string, p.name as string]));
    return {
      externalIds: root.external_ids as Map<string, string>,
      bridges: new Map(bridges.map((b) => [b.name as string, (b.ports as string[]).map((u) => portName.get(u) ?? u)])),
    };
  }

  async write(expected: NodeState, w: WriteSet): Promise<void> {
    if (!this.root) await this.read();
    const rootWhere = [cond('_uuid', '==', uuid(this.root as string))];
    const ops: Operation[] = [
      wait('Open_vSwitch', rootWhere, ['external_ids'], '==', [{ external_ids: map(expected.externalIds) }], 0),
    ];
    const touched = [...Object.keys(w.set), ...w.remove];
    if (touched.length > 0) {
      ops.push(mutate('Open_vSwitch', rootWhere, [
        mutation('external_ids', 'delete', set(touched)),
        ...(Object.keys(w.set).length > 0 ? [mutation('external_ids', 'insert', map(w.set))] : []),
      ]));
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
      ops.push(insert('Bridge', { name: b.name, ports: set(portIds.map(namedUuid)) }, { uuidName: brId }));
      ops.push(mutate('Open_vSwitch', rootWhere, [mutation('bridges', 'insert', set([namedUuid(brId)]))]));
    }
    for (const p of w.ports) {
      const id = addPort(p.port);
      ops.push(mutate('Bridge', [cond('name', '==', p.bridge)], [mutation('ports', 'insert', set([namedUuid(id)]))]));
    }
    ops.push(comment('ovn-chassis-agent: apply chassis configuration'));
    try {
      await this.guard(() => this.client.transact(DB, ops));
    } catch (err) {
      if (err instanceof AgentError && err.cause instanceof OvsdbOperationError && err.cause.isConflict) {
        throw new AgentError('CONFLICT', 'the node\'s OVSDB changed since it was read', { cause: err.cause });
      }
      throw err;
    }
  }

  async ovsVersion(): Promise<string | undefined> {
    const [root] = await this.guard(() => this.client.select(DB, 'Open_vSwitch', [], ['ovs_version']));
    const v = root?.ovs_version as string[] | undefined;
    return v && v.length > 0 ? v[0] : undefined;
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
