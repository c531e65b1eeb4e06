import net from 'node:net';
import { join } from 'node:path';
import { JsonFramer } from '../../ovsdb/framing.js';
import { tempDir } from '../../sandbox/index.js';

export interface PeerRequest {
  method: string;
  params: unknown[];
  id: unknown;
}

/**
 * A misbehaving OVSDB server for faults a real ovsdb-server cannot be made to
 * produce. It reads requests in the real wire format (JSON values back to
 * back) and lets the test answer — or not — as it likes.
 */
export class FakePeer {
  readonly endpoint: string;
  readonly sockets = new Set<net.Socket>();
  private readonly server: net.Server;

  private constructor(server: net.Server, path: string) {
    this.server = server;
    this.endpoint = `unix:${path}`;
  }

  static async start(onRequest: (req: PeerRequest, sock: net.Socket) => void): Promise<FakePeer> {
    const path = join(tempDir('peer'), 'peer.sock');
    let peer: FakePeer | undefined;
    const server = net.createServer((sock) => {
      peer?.sockets.add(sock);
      sock.on('close', () => peer?.sockets.delete(sock));
      sock.on('error', () => {});
      const framer = new JsonFramer(1 << 20);
      sock.on('data', (chunk: Buffer) => {
        for (const msg of framer.push(chunk)) onRequest(msg as PeerRequest, sock);
      });
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    peer = new FakePeer(server, path);
    return peer;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

export function reply(sock: net.Socket, id: unknown, result: unknown): void {
  sock.write(JSON.stringify({ id, result, error: null }));
}

/** Writes `total` bytes of `fill` in chunks, respecting backpressure, until done or the socket closes. */
export async function stream(sock: net.Socket, total: number, fill = 'a', chunkBytes = 1 << 20, delayMs = 0): Promise<number> {
  const chunk = Buffer.alloc(chunkBytes, fill);
  let sent = 0;
  while (sent < total && !sock.destroyed) {
    const ok = sock.write(chunk);
    sent += chunk.length;
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    if (!ok) await drainedOrClosed(sock);
  }
  return sent;
}

function drainedOrClosed(sock: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      sock.off('drain', done);
      sock.off('close', done);
      resolve();
    };
    sock.once('drain', done);
    sock.once('close', done);
  });
}
