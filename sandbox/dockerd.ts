import { cpSync, createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Docker from 'dockerode';
import { mountsUnder, run, spawnServer, stopPid, tempDir, waitFor } from './procs.js';

export const OVS_IMAGE = 'ovn-chassis-test/ovs:1';
const IMAGE_BINARIES = ['/usr/bin/ovs-vsctl', '/usr/bin/ovsdb-client', '/usr/sbin/ovsdb-server', '/usr/bin/ovsdb-tool', '/bin/sh', '/bin/sleep'];
const VSWITCH_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

/**
 * A real dockerd of our own: its own data and exec roots and API socket, no
 * iptables and no bridge (nothing on this machine is touched), vfs storage,
 * and live-restore as production hosts run it, so containers outlive a
 * dockerd restart.
 */
export class Dockerd {
  readonly dir: string;
  readonly socketPath: string;
  readonly api: Docker;
  private pid = 0;

  private constructor(dir: string) {
    this.dir = dir;
    this.socketPath = join(dir, 'docker.sock');
    this.api = new Docker({ socketPath: this.socketPath });
  }

  static async start(): Promise<Dockerd> {
    const d = new Dockerd(tempDir('dockerd'));
    await d.launch();
    return d;
  }

  private async launch(): Promise<void> {
    const proc = spawnServer('dockerd', [
      '--storage-driver=vfs', '--iptables=false', '--ip6tables=false', '--bridge=none', '--live-restore',
      `--data-root=${join(this.dir, 'data')}`, `--exec-root=${join(this.dir, 'exec')}`,
      `--pidfile=${join(this.dir, 'dockerd.pid')}`, '-H', `unix://${this.socketPath}`,
    ]);
    this.pid = proc.pid;
    await waitFor(`dockerd API\n${proc.output()}`, async () => {
      if (!existsSync(this.socketPath)) return undefined;
      return this.api.ping().then(() => true, () => undefined);
    }, 60_000);
  }

  /**
   * Kills dockerd as a crash would and starts it again on the same roots. Its
   * containerd dies with it; the containers' shims go on, and the new
   * containerd takes them back (live-restore). (Here nothing reaps the dead containerd, and
   * dockerd takes the zombie's pid file for a live containerd: the file goes.)
   */
  async restart(): Promise<void> {
    await stopPid(this.pid, 'SIGKILL');
    rmSync(this.socketPath, { force: true });
    rmSync(join(this.dir, 'exec', 'containerd', 'containerd.pid'), { force: true });
    await this.launch();
  }

  /**
   * The Open vSwitch image Kolla would give us, made here: no registry is
   * reachable, so it is a `docker import` of the host's own ovs binaries,
   * their libraries (from ldd), /bin/sh and the schema, with an empty
   * database already created.
   */
  async buildOvsImage(): Promise<string> {
    const stage = join(this.dir, 'image-root');
    const libs = run('ldd', IMAGE_BINARIES).split('\n').map((l) => /(\/\S+)\s+\(0x/.exec(l)?.[1]).filter((p): p is string => !!p);
    for (const f of [...IMAGE_BINARIES, VSWITCH_SCHEMA, ...new Set(libs)]) {
      mkdirSync(join(stage, dirname(f)), { recursive: true });
      cpSync(f, join(stage, f), { dereference: true });
    }
    for (const d of ['etc/openvswitch', 'var/run/openvswitch', 'tmp']) mkdirSync(join(stage, d), { recursive: true });
    run('ovsdb-tool', ['create', join(stage, 'etc/openvswitch/conf.db'), VSWITCH_SCHEMA]);
    const tar = join(this.dir, 'image.tar');
    run('tar', ['-C', stage, '-cf', tar, '.']);
    const [repo, tag] = OVS_IMAGE.split(':') as [string, string];
    const stream = await this.api.importImage(createReadStream(tar) as unknown as string, { repo, tag });
    await new Promise((resolve, reject) => this.api.modem.followProgress(stream, (err) => (err ? reject(err) : resolve(undefined))));
    return OVS_IMAGE;
  }

  /**
   * A container with its run dir (db.sock) shared with the host, as Kolla runs
   * it: by default running ovsdb-server itself; given another command, beside
   * a database served from the host's side of that dir.
   */
  async startOvsContainer(name: string, runDir: string, cmd = ['/usr/sbin/ovsdb-server', '/etc/openvswitch/conf.db', '--remote=punix:/var/run/openvswitch/db.sock']): Promise<Docker.Container> {
    mkdirSync(runDir, { recursive: true });
    const c = await this.api.createContainer({
      name,
      Image: OVS_IMAGE,
      Cmd: cmd,
      // Kolla's restart policy: a dockerd that comes back (it stops running containers) starts it again.
      HostConfig: { NetworkMode: 'none', Binds: [`${runDir}:/var/run/openvswitch`], RestartPolicy: { Name: 'unless-stopped' } },
    });
    await c.start();
    await waitFor(`ovsdb-server in ${name}`, () => existsSync(join(runDir, 'db.sock')));
    return c;
  }

  async stop(): Promise<void> {
    if (!this.pid) return;
    const containers = await this.api.listContainers({ all: true }).catch(() => []);
    for (const c of containers) await this.api.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    await stopPid(this.pid, 'SIGTERM', 15_000);
    this.pid = 0;
    // containerd and its shims run from our exec root; none may outlive the daemon, nor its mounts.
    for (const pid of processesMentioning(this.dir)) await stopPid(pid, 'SIGTERM', 3000);
    for (const m of mountsUnder(this.dir).sort().reverse()) run('umount', ['-l', m]);
  }
}

function processesMentioning(text: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) out.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return out;
}
