import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { run, spawnServer, stopPid, tempDir, waitFor } from '../../scripts/lib/procs.js';

export interface Keypair {
  key: string;
  pub: string;
}

export function keygen(dir: string, name: string): Keypair {
  const key = join(dir, name);
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', key]);
  return { key, pub: readFileSync(`${key}.pub`, 'utf8').trim() };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
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
    d.port = await freePort();
    const config = join(d.dir, 'sshd_config');
    writeFileSync(config, [
      `Port ${d.port}`, 'ListenAddress 127.0.0.1', `HostKey ${d.hostKey.key}`,
      `AuthorizedKeysFile ${join(d.dir, 'authorized_keys')}`, `PidFile ${join(d.dir, 'sshd.pid')}`,
      'UsePAM no', 'StrictModes no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password', 'LogLevel ERROR',
    ].join('\n'));
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const proc = spawnServer('/usr/sbin/sshd', ['-D', '-e', '-f', config]);
    d.pid = proc.pid;
    await waitFor(`sshd on port ${d.port}\n${proc.output()}`, () =>
      new Promise<boolean | undefined>((resolve) => {
        const s = net.connect(d.port, '127.0.0.1', () => (s.destroy(), resolve(true)));
        s.on('error', () => resolve(undefined));
      }),
    );
    return d;
  }

  /** A known_hosts line for this server, as ssh-keyscan would write it. */
  knownHostsLine(pub = this.hostKey.pub): string {
    const [type, b64] = pub.split(' ');
    return `[127.0.0.1]:${this.port} ${type} ${b64}`;
  }

  async stop(): Promise<void> {
    if (this.pid) await stopPid(this.pid);
    this.pid = 0;
  }
}
