import net from 'node:net';
import { join } from 'node:path';
import { JsonFramer } from '../../ovsdb/framing.js';
import { tempDir } from '../../sandbox/index.js';

type Message = { method?: string; params?: unknown[] };

/**
 * A hostile OVSDB server made of a real one: a proxy that passes every
 * message in the real wire format, but rewrites what the client asks for on
 * its way (for example, drops a monitor's condition, so the real server sends
 * rows the client did not ask for). Answers come back untouched.
 */
export class RewritingProxy {
  readonly endpoint: string;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(upstream: string, path: string, rewrite: (msg: Message) => void) {
    this.endpoint = `unix:${path}`;
    this.server = net.createServer((client) => {
      const up = net.connect(upstream.replace(/^unix:/, ''));
      for (const s of [client, up]) {
        this.sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => {
          client.destroy();
          up.destroy();
        });
      }
      const framer = new JsonFramer(1 << 24);
      client.on('data', (chunk: Buffer) => {
        for (const msg of framer.push(chunk) as Message[]) {
          rewrite(msg);
          up.write(JSON.stringify(msg));
        }
      });
      up.pipe(client);
    });
  }

  static async start(upstream: string, rewrite: (msg: Message) => void): Promise<RewritingProxy> {
    const path = join(tempDir('rewriting-proxy'), 'proxy.sock');
    const proxy = new RewritingProxy(upstream, path, rewrite);
    await new Promise<void>((resolve) => proxy.server.listen(path, resolve));
    return proxy;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}
