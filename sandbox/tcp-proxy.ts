import net from 'node:net';

/**
 * A TCP listener on loopback that carries bytes to a server (a TCP port or a
 * unix socket) and can cut the link the ways a network does: `blackhole`
 * keeps every connection open and lets no byte through (a partition that no
 * peer notices until its probes go unanswered); `pass` carries bytes again.
 * It speaks no protocol of its own: what passes is the real wire.
 */
export class TcpProxy {
  readonly port: number;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private passing = true;

  private constructor(server: net.Server, port: number) {
    this.server = server;
    this.port = port;
  }

  static start(target: { path: string } | { port: number }): Promise<TcpProxy> {
    return new Promise((resolve, reject) => {
      let proxy: TcpProxy | undefined;
      const server = net.createServer((client) => {
        const upstream = net.connect('path' in target ? { path: target.path } : { port: target.port, host: '127.0.0.1' });
        const p = proxy as TcpProxy;
        for (const s of [client, upstream]) p.sockets.add(s);
        client.on('data', (d: Buffer) => void (p.passing && upstream.write(d)));
        upstream.on('data', (d: Buffer) => void (p.passing && client.write(d)));
        const end = () => {
          for (const s of [client, upstream]) {
            s.destroy();
            p.sockets.delete(s);
          }
        };
        for (const s of [client, upstream]) {
          s.on('error', end);
          s.on('close', end);
        }
      });
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port);
        resolve(proxy);
      });
    });
  }

  /** Lets no byte through either way, on open connections and new ones, and closes none. */
  blackhole(): void {
    this.passing = false;
  }

  pass(): void {
    this.passing = true;
  }

  stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
