import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { run, spawnServer, stopPid, tempDir, waitFor } from './procs.js';

export const VSWITCH_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
export const SB_SCHEMA = '/usr/share/ovn/ovn-sb.ovsschema';
export const NB_SCHEMA = '/usr/share/ovn/ovn-nb.ovsschema';

export interface OvsdbServerOptions {
  schemas?: string[];
  /** Also listen on tcp (ptcp:0 on loopback). */
  tcp?: boolean;
  /** Also listen on ssl with these PEM files. */
  ssl?: { key: string; cert: string; ca: string };
  /** Initialise the Open_vSwitch row (ovs-vsctl init) when the vswitch schema is served. */
  init?: boolean;
  /** Where its files go (default: a new temporary directory). */
  dir?: string;
  /**
   * What to serve, as ovsdb-server's positional arguments, instead of new
   * databases made from `schemas`: a Raft member's file, or `relay:DB:REMOTES`.
   */
  serve?: string[];
  /** Start from a copy of this database file (one made by another OvsdbServer), instead of creating one: many nodes start fast. */
  copyOf?: string;
}

/**
 * A real ovsdb-server in its own temporary directory, on a unix socket (and
 * optionally tcp/ssl on loopback). `stop()` ends it by pid; `restart()` brings
 * it back on the same files, as after a crash.
 */
export class OvsdbServer {
  readonly dir: string;
  readonly sockPath: string;
  pid = 0;
  tcpPort = 0;
  sslPort = 0;
  private readonly opts: OvsdbServerOptions;
  readonly dbFiles: string[];

  private constructor(dir: string, opts: OvsdbServerOptions, dbFiles: string[]) {
    this.dir = dir;
    this.opts = opts;
    this.dbFiles = dbFiles;
    this.sockPath = join(dir, 'db.sock');
  }

  static async start(opts: OvsdbServerOptions = {}): Promise<OvsdbServer> {
    const dir = opts.dir ?? tempDir('ovsdb');
    mkdirSync(dir, { recursive: true });
    const schemas = opts.serve ? [] : (opts.schemas ?? [VSWITCH_SCHEMA]);
    const dbFiles = opts.serve ?? schemas.map((schema, i) => {
      const file = join(dir, `db${i}.db`);
      if (opts.copyOf) copyFileSync(opts.copyOf, file);
      else run('ovsdb-tool', ['create', file, schema]);
      return file;
    });
    const server = new OvsdbServer(dir, opts, dbFiles);
    await server.launch();
    if (opts.init !== false && !opts.copyOf && schemas.includes(VSWITCH_SCHEMA)) server.vsctl('init');
    return server;
  }

  get unix(): string {
    return `unix:${this.sockPath}`;
  }

  get tcp(): string {
    return `tcp:127.0.0.1:${this.tcpPort}`;
  }

  get ssl(): string {
    return `ssl:127.0.0.1:${this.sslPort}`;
  }

  /** ovs-appctl against this server's control socket. */
  appctl(...args: string[]): string {
    return run('ovs-appctl', ['-t', join(this.dir, 'ctl'), ...args]).trim();
  }

  /** ovs-vsctl against this server; --no-wait because no ovs-vswitchd runs. */
  vsctl(...args: string[]): string {
    return run('ovs-vsctl', [`--db=${this.unix}`, '--no-wait', '--timeout=10', ...args]).trim();
  }

  externalIds(): Record<string, string> {
    const out = run('ovsdb-client', ['-f', 'json', 'dump', this.unix, 'Open_vSwitch', 'Open_vSwitch', 'external_ids']);
    const table = JSON.parse(out) as { data: [[string, [string, string][]]][] };
    const cell = table.data[0]?.[0];
    return Object.fromEntries(cell?.[1] ?? []);
  }

  async launch(): Promise<void> {
    const log = join(this.dir, 'ovsdb-server.log');
    const args = [
      ...this.dbFiles,
      `--remote=punix:${this.sockPath}`,
      `--pidfile=${join(this.dir, 'pid')}`,
      `--unixctl=${join(this.dir, 'ctl')}`,
      `--log-file=${log}`,
      '-vconsole:off',
      '-vfile:info',
    ];
    if (this.opts.tcp) args.push(this.tcpPort ? `--remote=ptcp:${this.tcpPort}:127.0.0.1` : '--remote=ptcp:0:127.0.0.1');
    if (this.opts.ssl) {
      args.push(
        `--private-key=${this.opts.ssl.key}`,
        `--certificate=${this.opts.ssl.cert}`,
        `--ca-cert=${this.opts.ssl.ca}`,
        this.sslPort ? `--remote=pssl:${this.sslPort}:127.0.0.1` : '--remote=pssl:0:127.0.0.1',
      );
    }
    // A killed server leaves its socket file behind; do not mistake it for the new one.
    rmSync(this.sockPath, { force: true });
    const proc = spawnServer('ovsdb-server', args);
    this.pid = proc.pid;
    await waitFor(`ovsdb-server socket ${this.sockPath}\n${proc.output()}`, () => existsSync(this.sockPath));
    const wantPorts = (this.opts.tcp ? 1 : 0) + (this.opts.ssl ? 1 : 0);
    if (wantPorts > 0) {
      const ports = await waitFor('ovsdb-server listening ports', () => {
        const found = [...readFileSync(log, 'utf8').matchAll(/listening on port (\d+)/g)].map((m) => Number(m[1]));
        return found.length >= wantPorts ? found.slice(-wantPorts) : undefined;
      });
      // Remotes open in the order given: tcp first, then ssl.
      if (this.opts.tcp) this.tcpPort = ports[0] as number;
      if (this.opts.ssl) this.sslPort = ports[ports.length - 1] as number;
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.pid) await stopPid(this.pid, signal);
    this.pid = 0;
  }

  /** Kills the server (as a crash would) and starts it again on the same database files and ports. */
  async restart(downMs = 0): Promise<void> {
    await this.stop('SIGKILL');
    if (downMs) await new Promise((r) => setTimeout(r, downMs));
    await this.launch();
  }
}
