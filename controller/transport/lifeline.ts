import type { Duplex } from 'node:stream';
import type { Client } from 'ssh2';

/**
 * Everything open over one SSH connection fails at once when it drops: its
 * forwarded sockets are destroyed (an OVSDB write in flight then says its
 * outcome is unknown) and every pending SFTP request or program is rejected.
 * ssh2 alone leaves some of them waiting on a dead session.
 */
export class Lifeline {
  private readonly channels = new Set<Duplex>();
  private readonly waiters = new Set<(err: Error) => void>();
  private lost: Error | undefined;

  constructor(conn: Client, where: string) {
    const die = (why: string) => {
      if (this.lost) return;
      this.lost = new Error(`${where}: ${why}`);
      for (const ch of this.channels) ch.destroy();
      for (const w of this.waiters) w(this.lost);
    };
    conn.on('close', () => die('the SSH connection closed'));
    conn.on('end', () => die('the SSH connection ended'));
    // Kept for the session's life: an 'error' with no listener would end the whole controller.
    conn.on('error', (err: Error) => die(`SSH error: ${err.message}`));
  }

  /** `p`, or a rejection as soon as the connection is lost. */
  guard<T>(p: Promise<T>): Promise<T> {
    if (this.lost) {
      p.catch(() => undefined);
      return Promise.reject(this.lost);
    }
    return new Promise((resolve, reject) => {
      const w = (err: Error) => reject(err);
      this.waiters.add(w);
      p.then(
        (v) => (this.waiters.delete(w), resolve(v)),
        (err: unknown) => (this.waiters.delete(w), reject(err)),
      );
    });
  }

  /** A channel to destroy when the connection is lost. */
  track<C extends Duplex>(ch: C): C {
    if (this.lost) ch.destroy();
    else {
      this.channels.add(ch);
      ch.once('close', () => this.channels.delete(ch));
    }
    return ch;
  }
}
