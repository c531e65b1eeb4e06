import { chmodSync, createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { Dockerd } from './dockerd.js';
import { freePort, run, tempDir, waitFor } from './procs.js';
import { keygen, type Keypair } from './sshd.js';

/**
 * A real systemd node: a Debian root made with debootstrap from Debian's
 * registry (systemd, sshd and Open vSwitch in it), imported into a test
 * dockerd and run with systemd as PID 1. Its sshd listens on a loopback port
 * of its own (the container shares this machine's network, so nothing else
 * of it listens anywhere), with a host key and an authorized key made for the
 * run; its ovsdb-server runs as the distribution starts it. ovs-vswitchd is
 * masked: there is no kernel datapath here, and it must not touch this
 * machine's network.
 *
 * The root takes some minutes to make, so it is kept between runs in
 * OVN_CHASSIS_CACHE (default /var/cache/ovn-chassis), as a tarball.
 */
export const SYSTEMD_IMAGE = 'ovn-chassis-test/systemd-node:1';
/** Raised whenever the way the root is made changes. */
const RECIPE = 2;
const PACKAGES = ['systemd', 'systemd-sysv', 'dbus', 'openssh-server', 'openvswitch-switch'];

export function cacheDir(): string {
  return process.env.OVN_CHASSIS_CACHE ?? '/var/cache/ovn-chassis';
}

/** This machine's Debian release and the mirror its apt sources name. */
function debianSource(): { suite: string; mirror: string } {
  const release = readFileSync('/etc/os-release', 'utf8');
  const suite = /^VERSION_CODENAME=(\S+)$/m.exec(release)?.[1] ?? 'bookworm';
  const sources = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'].filter(existsSync).map((f) => readFileSync(f, 'utf8')).join('\n');
  const mirror = /^URIs:\s*(\S+)/m.exec(sources)?.[1] ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+\s+main/m.exec(sources)?.[1] ?? 'http://deb.debian.org/debian';
  return { suite, mirror };
}

/** The node's root as a tarball: made once with debootstrap, then taken from the cache. */
export function systemdRootfs(log: (line: string) => void = () => undefined): string {
  // The recipe's number is in the name: a root made by an older recipe is never taken for this one.
  const tar = join(cacheDir(), `systemd-node-${debianSource().suite}-r${RECIPE}.tar`);
  if (existsSync(tar)) return tar;
  mkdirSync(cacheDir(), { recursive: true, mode: 0o755 });
  const root = tempDir('debootstrap');
  const { suite, mirror } = debianSource();
  log(`making a Debian ${suite} root with systemd for the systemd node tests (once; kept in ${cacheDir()})`);
  run('debootstrap', ['--variant=minbase', `--include=${PACKAGES.join(',')}`, suite, root, mirror]);
  // No kernel datapath here, and the node shares this machine's network: ovs-vswitchd never starts.
  symlinkSync('/dev/null', join(root, 'etc/systemd/system/ovs-vswitchd.service'));
  mkdirSync(join(root, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
  symlinkSync('/lib/systemd/system/ovsdb-server.service', join(root, 'etc/systemd/system/multi-user.target.wants/ovsdb-server.service'));
  rmSync(join(root, 'var/cache/apt/archives'), { recursive: true, force: true });
  rmSync(join(root, 'var/lib/apt/lists'), { recursive: true, force: true });
  // The archive's top entry becomes the node's /: the temporary folder's 0700 would lock every service user out.
  chmodSync(root, 0o755);
  const partial = `${tar}.partial-${process.pid}`;
  run('tar', ['-C', root, '-cf', partial, '.']);
  renameSync(partial, tar);
  rmSync(root, { recursive: true, force: true });
  return tar;
}

export class SystemdNode {
  readonly container: Docker.Container;
  readonly port: number;
  readonly clientKey: Keypair;
  readonly hostKey: Keypair;
  readonly dir: string;

  private constructor(container: Docker.Container, port: number, clientKey: Keypair, hostKey: Keypair, dir: string) {
    this.container = container;
    this.port = port;
    this.clientKey = clientKey;
    this.hostKey = hostKey;
    this.dir = dir;
  }

  static async start(dockerd: Dockerd, name = 'systemd-node', log?: (line: string) => void): Promise<SystemdNode> {
    const tar = systemdRootfs(log);
    const [repo, tag] = SYSTEMD_IMAGE.split(':') as [string, string];
    const present = await dockerd.api.getImage(SYSTEMD_IMAGE).inspect().then(() => true, () => false);
    if (!present) {
      const stream = await dockerd.api.importImage(createReadStream(tar) as unknown as string, { repo, tag });
      await new Promise((resolve, reject) => dockerd.api.modem.followProgress(stream, (err) => (err ? reject(err) : resolve(undefined))));
    }
    const dir = tempDir('systemd-node');
    const clientKey = keygen(dir, 'client_key');
    const hostKey = keygen(dir, 'host_key');
    const port = await freePort();
    // What the node is given before it boots: its sshd on our loopback port with our keys.
    const put = join(dir, 'put');
    mkdirSync(join(put, 'root/.ssh'), { recursive: true, mode: 0o700 });
    mkdirSync(join(put, 'etc/ssh/sshd_config.d'), { recursive: true });
    writeFileSync(join(put, 'root/.ssh/authorized_keys'), `${clientKey.pub}\n`, { mode: 0o600 });
    writeFileSync(join(put, 'etc/ssh/sshd_config.d/ovn-chassis-test.conf'), [`Port ${port}`, 'ListenAddress 127.0.0.1', 'HostKey /etc/ssh/ovn-chassis-test-host-key', 'PermitRootLogin prohibit-password', 'PasswordAuthentication no', ''].join('\n'));
    writeFileSync(join(put, 'etc/ssh/ovn-chassis-test-host-key'), readFileSync(hostKey.key), { mode: 0o600 });
    const archive = join(dir, 'put.tar');
    // Named, not '.': the archive's own top entry would set the node's / to this folder's mode.
    run('tar', ['-C', put, '--owner=0', '--group=0', '-cf', archive, 'root', 'etc']);
    const container = await dockerd.api.createContainer({
      name,
      Image: SYSTEMD_IMAGE,
      Cmd: ['/lib/systemd/systemd'],
      HostConfig: {
        NetworkMode: 'host',
        CapAdd: ['SYS_ADMIN'],
        SecurityOpt: ['seccomp=unconfined'],
        Tmpfs: { '/run': '', '/run/lock': '' },
        Binds: ['/sys/fs/cgroup:/sys/fs/cgroup:rw'],
      },
    });
    await container.putArchive(archive, { path: '/' });
    await container.start();
    const node = new SystemdNode(container, port, clientKey, hostKey, dir);
    await waitFor('systemd running in the node', async () => /^(running|degraded)$/.test((await node.exec(['systemctl', 'is-system-running'])).stdout.trim()) || undefined, 60_000);
    await waitFor('the node\'s sshd and ovsdb-server', async () => (await node.exec(['systemctl', 'is-active', 'ssh', 'ovsdb-server'])).stdout.split('\n').filter((l) => l === 'active').length === 2 || undefined, 30_000);
    return node;
  }

  /** Runs an argument vector inside the node (docker exec): what a test reads there, never what is under test. */
  async exec(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const e = await this.container.exec({ Cmd: argv, AttachStdout: true, AttachStderr: true });
    const stream = await e.start({});
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      this.container.modem.demuxStream(stream, { write: (b: Buffer) => out.push(b) } as never, { write: (b: Buffer) => err.push(b) } as never);
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
    const { ExitCode } = await e.inspect();
    return { code: ExitCode ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
  }

  /** A known_hosts line for its sshd. */
  knownHostsLine(): string {
    const [type, b64] = this.hostKey.pub.split(' ');
    return `[127.0.0.1]:${this.port} ${type} ${b64}`;
  }

  async stop(): Promise<void> {
    await this.container.remove({ force: true }).catch(() => undefined);
  }
}
