import { execFile } from 'node:child_process';
import { JsonFramer } from '../../ovsdb/framing.js';
import { type ColumnType, decodeDatum } from '../../ovsdb/schema.js';
import { AgentError } from '../errors.js';
import { COLUMNS } from './columns.js';
import { type SslRow, decodeSsl } from '../keys.js';
import { type Backend, type NodeState, type WatchEvent, type WriteSet, settingsOf, splitWrite } from '../state.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs ovs-vsctl with an argument vector — locally, or inside a container. Never through a shell. */
export type VsctlRunner = (args: string[]) => Promise<RunResult>;

const { Open_vSwitch: OVS, Bridge: BRIDGE, Port: PORT, SSL, Manager: MANAGER } = COLUMNS;
const col = (t: { columns: Record<string, ColumnType> }, name: string) => t.columns[name] as ColumnType;
/** How often a watched node is read: ovs-vsctl cannot be told of changes. */
const POLL_MS = 500;
/** How long a guarded write waits for external_ids to equal what was read before calling it a conflict. */
const CAS_TIMEOUT_S = 2;
/** ovs-vsctl dies of SIGALRM when --timeout expires: 128 + 14. */
const EXIT_TIMEOUT = 142;
/** What ovs-vsctl (or docker exec) says when it never reached the database. */
const UNREACHABLE = /connection failed|No such file|not running|No such container/;

/** OVSDB string syntax as ovs-vsctl parses it: double quotes, backslash escapes. */
export function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function mapLiteral(m: Map<string, string>): string {
  return `{${[...m].map(([k, v]) => `${quote(k)}=${quote(v)}`).join(', ')}}`;
}

export const READ_ARGS = [
  '--format=json', '--data=json', '--timeout=10',
  '--', '--columns=_uuid,external_ids,ssl,other_config,manager_options', 'list', 'Open_vSwitch',
  '--', '--columns=name,ports,datapath_type,fail_mode', 'list', 'Bridge',
  '--', '--columns=_uuid,name', 'list', 'Port',
  '--', '--columns=_uuid,private_key,certificate,ca_cert,bootstrap_ca_cert', 'list', 'SSL',
  '--', '--columns=_uuid,target', 'list', 'Manager',
];

const sslMatch = (r: SslRow) =>
  [`private_key=${quote(r.privateKey)}`, `certificate=${quote(r.certificate)}`, `ca_cert=${quote(r.caCert)}`, `bootstrap_ca_cert=${r.bootstrapCaCert}`];

/**
 * The arguments of one guarded ovs-vsctl transaction. `wait-until` on the
 * whole external_ids map makes it compare-and-set: if the map is not what we
 * read, ovs-vsctl waits and then times out without writing; when it matches,
 * ovs-vsctl's own verify holds it until commit.
 */
export function writeArgs(expected: NodeState, w: WriteSet): string[] {
  const args = ['--no-wait', `--timeout=${CAS_TIMEOUT_S}`];
  const cmd = (...a: string[]) => args.push('--', ...a);
  const managers = expected.managers ?? [];
  cmd(
    'wait-until', 'Open_vSwitch', '.', `external_ids=${mapLiteral(expected.externalIds)}`, `other_config=${mapLiteral(expected.otherConfig ?? new Map())}`,
    `ssl=${expected.ssl ? expected.ssl.uuid : '[]'}`, `manager_options=[${managers.map((m) => m.uuid).join(',')}]`,
  );
  if (expected.ssl) cmd('wait-until', 'SSL', expected.ssl.uuid, ...sslMatch(expected.ssl));
  const { set: ids, remove: gone, otherConfig, ssl, managers: mgr } = splitWrite(w);
  for (const [column, change] of [['external_ids', { set: ids, remove: gone }], ['other_config', otherConfig]] as const) {
    for (const k of change.remove) cmd('remove', 'Open_vSwitch', '.', column, quote(k));
    for (const [k, v] of Object.entries(change.set)) cmd('set', 'Open_vSwitch', '.', `${column}:${quote(k)}=${quote(v)}`);
  }
  for (const m of managers.filter((x) => mgr.remove.includes(x.target))) cmd('remove', 'Open_vSwitch', '.', 'manager_options', m.uuid);
  mgr.add.forEach((target, i) => {
    cmd(`--id=@m${i}`, 'create', 'Manager', `target=${quote(target)}`);
    cmd('add', 'Open_vSwitch', '.', 'manager_options', `@m${i}`);
  });
  if (ssl === null) cmd('del-ssl');
  else if (ssl !== undefined) {
    const r = decodeSsl(ssl);
    cmd(...(r.bootstrapCaCert ? ['--bootstrap'] : []), 'set-ssl', r.privateKey, r.certificate, r.caCert);
  }
  for (const b of w.bridges) {
    cmd('--may-exist', 'add-br', b.name);
    const modes = [...(b.datapathType ? [`datapath_type=${b.datapathType}`] : []), ...(b.failMode ? [`fail_mode=${b.failMode}`] : [])];
    if (modes.length > 0) cmd('set', 'Bridge', b.name, ...modes);
    if (b.uplink) cmd('--may-exist', 'add-port', b.name, b.uplink);
  }
  for (const p of w.ports) cmd('--may-exist', 'add-port', p.bridge, p.port);
  return args;
}

interface JsonTable {
  headings: string[];
  data: unknown[][];
}

export function parseReadOutput(stdout: string): NodeState {
  const tables = new JsonFramer(64 * 1024 * 1024).push(Buffer.from(stdout)) as JsonTable[];
  const [ovs, bridges, ports, ssls, managerRows] = tables;
  if (!ovs || !bridges || !ports || !ssls || !managerRows) throw new AgentError('PROTOCOL', `unexpected ovs-vsctl output: ${stdout.slice(0, 200)}`);
  const row = ovs.data[0];
  if (!row) throw new AgentError('NOT_INITIALISED', 'the database has no Open_vSwitch row yet (run "ovs-vsctl --no-wait init" or start ovs-vswitchd)');
  const portName = new Map(ports.data.map((r) => [decodeDatum(r[0], col(PORT, '_uuid')) as string, decodeDatum(r[1], col(PORT, 'name')) as string]));
  const sslUuid = (decodeDatum(row[2], col(OVS, 'ssl')) as string[])[0];
  const sslRow = ssls.data.find((r) => decodeDatum(r[0], col(SSL, '_uuid')) === sslUuid);
  const referenced = new Set(decodeDatum(row[4], col(OVS, 'manager_options')) as string[]);
  return {
    externalIds: decodeDatum(row[1], col(OVS, 'external_ids')) as Map<string, string>,
    otherConfig: decodeDatum(row[3], col(OVS, 'other_config')) as Map<string, string>,
    managers: managerRows.data
      .map((r) => ({ uuid: decodeDatum(r[0], col(MANAGER, '_uuid')) as string, target: decodeDatum(r[1], col(MANAGER, 'target')) as string }))
      .filter((m) => referenced.has(m.uuid)),
    ssl: sslRow
      ? {
          uuid: sslUuid as string,
          privateKey: decodeDatum(sslRow[1], col(SSL, 'private_key')) as string,
          certificate: decodeDatum(sslRow[2], col(SSL, 'certificate')) as string,
          caCert: decodeDatum(sslRow[3], col(SSL, 'ca_cert')) as string,
          bootstrapCaCert: decodeDatum(sslRow[4], col(SSL, 'bootstrap_ca_cert')) as boolean,
        }
      : undefined,
    bridges: new Map(
      bridges.data.map((r) => [decodeDatum(r[0], col(BRIDGE, 'name')) as string, (decodeDatum(r[1], col(BRIDGE, 'ports')) as string[]).map((u) => portName.get(u) ?? u)]),
    ),
    bridgeModes: new Map(
      bridges.data.map((r) => [decodeDatum(r[0], col(BRIDGE, 'name')) as string, { datapathType: decodeDatum(r[2], col(BRIDGE, 'datapath_type')) as string, failMode: (decodeDatum(r[3], col(BRIDGE, 'fail_mode')) as string[])[0] ?? '' }]),
    ),
  };
}

/** ovs-vsctl as the operator would run it, locally or through `docker exec`. */
export class VsctlBackend implements Backend {
  readonly description: string;
  private readonly run: VsctlRunner;
  private readonly runBackup: () => Promise<RunResult>;

  /** `runBackup`: ovsdb-client backup where ovs-vsctl runs (beside it, or in the same container). */
  constructor(run: VsctlRunner, description: string, runBackup: () => Promise<RunResult>) {
    this.run = run;
    this.description = description;
    this.runBackup = runBackup;
  }

  backup(): Promise<RunResult> {
    return this.runBackup();
  }

  async read(): Promise<NodeState> {
    return parseReadOutput((await this.checked(READ_ARGS)).stdout);
  }

  async write(expected: NodeState, w: WriteSet): Promise<void> {
    const res = await this.run(writeArgs(expected, w));
    if (res.code === EXIT_TIMEOUT && !UNREACHABLE.test(res.stderr)) {
      throw new AgentError('CONFLICT', 'external_ids changed since they were read');
    }
    if (res.code !== 0) throw this.failure(res);
  }

  async ovsVersion(): Promise<string | undefined> {
    const res = await this.run(['--version']);
    return /\(Open vSwitch\)\s+(\S+)/.exec(res.stdout)?.[1];
  }

  /** ovs-vsctl has no monitor: the node is read every POLL_MS and a change is said when what it holds differs. */
  async watch(on: (event: WatchEvent) => void): Promise<() => void> {
    let last: string | undefined;
    let busy = false;
    const poll = async () => {
      if (busy) return;
      busy = true;
      try {
        const s = await this.read();
        const key = JSON.stringify([[...settingsOf(s)].sort(), [...s.bridges].sort()]);
        if (last !== undefined && key !== last) on({ kind: 'change' });
        last = key;
      } catch (err) {
        on({ kind: 'lost', why: (err as Error).message });
      } finally {
        busy = false;
      }
    };
    await poll();
    const timer = setInterval(() => void poll(), POLL_MS);
    return () => clearInterval(timer);
  }

  async close(): Promise<void> {}

  private async checked(args: string[]): Promise<RunResult> {
    // A read that lost its runner changed nothing: it is unreachable, not of unknown outcome.
    const res = await this.run(args).catch((err: unknown) => {
      if (err instanceof AgentError && err.code === 'OUTCOME_UNKNOWN') throw new AgentError('UNREACHABLE', `${this.description}: ${err.message}`, { cause: err });
      throw err;
    });
    if (res.code !== 0) throw this.failure(res);
    return res;
  }

  private failure(res: RunResult): AgentError {
    const msg = res.stderr.trim().split('\n').pop() ?? `exit ${res.code}`;
    const code = UNREACHABLE.test(res.stderr) ? 'UNREACHABLE' : 'BACKEND_FAILED';
    return new AgentError(code, `${this.description}: ovs-vsctl failed (exit ${res.code}): ${msg}`);
  }
}

/** A local ovs-vsctl binary, on the database it reaches by default ($OVS_RUNDIR/db.sock). */
export function localVsctl(path = 'ovs-vsctl', env: NodeJS.ProcessEnv = process.env): VsctlBackend {
  const exec = (program: string, args: string[]): Promise<RunResult> =>
    new Promise((resolve) => {
      execFile(program, args, { env, timeout: 30_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: string }) | null;
        if (e && typeof e.code === 'string') {
          resolve({ code: 127, stdout: '', stderr: `cannot run ${program}: ${e.message}` });
          return;
        }
        const code = !e ? 0 : typeof e.code === 'number' ? e.code : e.signal === 'SIGALRM' ? EXIT_TIMEOUT : 1;
        resolve({ code, stdout, stderr });
      });
    });
  return new VsctlBackend((args) => exec(path, args), `vsctl ${path}`, () => exec('ovsdb-client', ['backup']));
}
