import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { freePort, run, spawnServer, stopPid, tempDir, waitFor } from './procs.js';

export interface Keypair {
  key: string;
  pub: string;
}

export function keygen(dir: string, name: string, passphrase = ''): Keypair {
  const key = join(dir, name);
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', name, '-f', key]);
  return { key, pub: readFileSync(`${key}.pub`, 'utf8').trim() };
}

/** Every process below `pid`, read from /proc. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${e}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}


/** A real sshd on a loopback port: its own host key, authorized_keys and pid file; no PAM. */
export class Sshd {
  readonly dir: string;
  readonly hostKey: Keypair;
  readonly clientKey: Keypair;
  port = 0;
  pid = 0;

  private constructor(dir: string) {
    this.dir = dir;
    this.hostKey = keygen(dir, 'host_key');
    this.clientKey = keygen(dir, 'client_key');
  }

  static async start(): Promise<Sshd> {
    const d = new Sshd(tempDir('sshd'));
    writeFileSync(join(d.dir, 'authorized_keys'), `${d.clientKey.pub}\n`, { mode: 0o600 });
    mkdirSync(join(d.dir, 'home'), { mode: 0o700 });
    d.port = await freePort();
    const config = join(d.dir, 'sshd_config');
    writeFileSync(config, [
      `Port ${d.port}`, 'ListenAddress 127.0.0.1', `HostKey ${d.hostKey.key}`,
      `AuthorizedKeysFile ${join(d.dir, 'authorized_keys')}`, `PidFile ${join(d.dir, 'sshd.pid')}`,
      'UsePAM no', 'StrictModes no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password', 'LogLevel ERROR', 'Subsystem sftp internal-sftp',
      // One sshd stands for many nodes here: a controller's 20 handshakes at once are not an attack.
      'MaxStartups 200',
      // Sessions get a home of their own: the shell sshd starts reads ~/.bashrc, and a session the
      // fault tests kill mid-way must not leave this machine's own dotfiles half-done (a stale lock).
      `SetEnv HOME=${join(d.dir, 'home')}`,
    ].join('\n'));
    await d.launch();
    return d;
  }

  private async launch(): Promise<void> {
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const proc = spawnServer('/usr/sbin/sshd', ['-D', '-e', '-f', join(this.dir, 'sshd_config')]);
    this.pid = proc.pid;
    await waitFor(`sshd on port ${this.port}\n${proc.output()}`, () =>
      new Promise<boolean | undefined>((resolve) => {
        const s = net.connect(this.port, '127.0.0.1', () => (s.destroy(), resolve(true)));
        s.on('error', () => resolve(undefined));
      }),
    );
  }

  /** A known_hosts line for this server, as ssh-keyscan would write it. */
  knownHostsLine(pub = this.hostKey.pub): string {
    const [type, b64] = pub.split(' ');
    return `[127.0.0.1]:${this.port} ${type} ${b64}`;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.pid) await stopPid(this.pid, signal);
    this.pid = 0;
  }

  /** Kills the daemon and every session it forked (each session is an sshd process of its own), as a crash of the host's sshd would. */
  async crash(): Promise<void> {
    const sessions = descendants(this.pid);
    await this.stop('SIGKILL');
    for (const pid of sessions) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }

  /** Starts it again on the same port, keys and configuration (after a crash). */
  async restart(): Promise<void> {
    await this.stop('SIGKILL');
    await this.launch();
  }
}
