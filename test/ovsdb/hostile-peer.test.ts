import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { OvsdbClient, OvsdbError, type ClientOptions } from '../../ovsdb/index.js';
import { FakePeer, reply, stream, type PeerRequest } from '../support/fake-peer.js';
import { run, waitFor, OvsdbServer } from '../../sandbox/index.js';
import type net from 'node:net';

let peer: FakePeer | undefined;
afterEach(async () => {
  await peer?.close();
  peer = undefined;
});

async function against(
  onRequest: (req: PeerRequest, sock: net.Socket) => void,
  opts: Partial<ClientOptions> = {},
): Promise<{ client: OvsdbClient; closed: Promise<OvsdbError> }> {
  peer = await FakePeer.start(onRequest);
  const client = await OvsdbClient.connect({ endpoint: peer.endpoint, ...opts });
  const closed = new Promise<OvsdbError>((resolve) => client.once('disconnected', resolve));
  return { client, closed };
}

async function failure(p: Promise<unknown>): Promise<OvsdbError> {
  const out = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(out).toBeInstanceOf(OvsdbError);
  return out as OvsdbError;
}

describe('a hostile or broken peer', () => {
  it('garbage bytes: PROTOCOL_ERROR and the connection is closed', async () => {
    const { client, closed } = await against((_req, sock) => sock.write('\x00\xffNOT JSON AT ALL'));
    expect((await failure(client.listDbs())).code).toBe('PROTOCOL_ERROR');
    expect((await closed).code).toBe('PROTOCOL_ERROR');
    expect(client.connected).toBe(false);
  });

  it('a 100 MB string: MESSAGE_TOO_LARGE at the default limit, connection closed', async () => {
    let sent = 0;
    const { client, closed } = await against((req, sock) => {
      sock.write(`{"id":${JSON.stringify(req.id)},"error":null,"result":"`);
      void stream(sock, 100 * 1024 * 1024).then((n) => (sent = n));
    });
    const err = await failure(client.listDbs());
    expect(err.code).toBe('MESSAGE_TOO_LARGE');
    expect(err.message).toMatch(/67108864 bytes/);
    expect((await closed).code).toBe('MESSAGE_TOO_LARGE');
    await waitFor('peer sees the close', () => peer?.sockets.size === 0);
    expect(sent).toBeLessThan(100 * 1024 * 1024);
  });

  it('holds no more than its configured limit while a peer streams 100 MB at it', async () => {
    const limit = 4 * 1024 * 1024;
    const { client } = await against(
      (req, sock) => {
        sock.write(`{"id":${JSON.stringify(req.id)},"error":null,"result":"`);
        void stream(sock, 100 * 1024 * 1024, 'b', 64 * 1024);
      },
      { maxMessageBytes: limit },
    );
    global.gc?.();
    const base = process.memoryUsage().arrayBuffers;
    let peak = base;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 1);
    const err = await failure(client.listDbs());
    clearInterval(sampler);
    expect(err.code).toBe('MESSAGE_TOO_LARGE');
    // The framer copies at most `limit` bytes; socket buffers add a little. Far below 100 MB.
    expect(peak - base).toBeLessThan(limit * 4);
  });

  it('an endless unterminated value: stopped at the limit, not buffered forever', async () => {
    const { client, closed } = await against(
      (req, sock) => {
        sock.write(`{"id":${JSON.stringify(req.id)},"result":["never ends `);
        void stream(sock, Number.MAX_SAFE_INTEGER, 'x', 4096, 1);
      },
      { maxMessageBytes: 256 * 1024 },
    );
    expect((await failure(client.listDbs())).code).toBe('MESSAGE_TOO_LARGE');
    expect((await closed).code).toBe('MESSAGE_TOO_LARGE');
  });

  it('a reply that trickles forever does not hold a request past its timeout', async () => {
    const { client } = await against(
      (req, sock) => {
        sock.write(`{"id":${JSON.stringify(req.id)},"result":"`);
        void stream(sock, 10_000_000, 'x', 16, 20);
      },
      { requestTimeoutMs: 300 },
    );
    expect((await failure(client.listDbs())).code).toBe('REQUEST_TIMEOUT');
    client.close();
  });

  it('a reply with an unknown id: PROTOCOL_ERROR, connection closed', async () => {
    const { client, closed } = await against((_req, sock) => reply(sock, 987654, ['x']));
    expect((await failure(client.listDbs())).code).toBe('PROTOCOL_ERROR');
    const err = await closed;
    expect(err.message).toMatch(/unknown id 987654/);
  });

  it('a JSON-RPC 2.0 style extra member: PROTOCOL_ERROR, as ovsdb-server itself rules', async () => {
    const { client, closed } = await against((req, sock) =>
      sock.write(JSON.stringify({ jsonrpc: '2.0', id: req.id, result: [], error: null })),
    );
    expect((await failure(client.listDbs())).code).toBe('PROTOCOL_ERROR');
    expect((await closed).message).toMatch(/unexpected member "jsonrpc"/);
  });

  it('a premature close: CONNECTION_CLOSED for every request in flight', async () => {
    let seen = 0;
    const { client } = await against((_req, sock) => {
      if (++seen === 3) sock.destroy();
    });
    const errs = await Promise.all([failure(client.listDbs()), failure(client.listDbs()), failure(client.listDbs())]);
    expect(errs.map((e) => e.code)).toEqual(['CONNECTION_CLOSED', 'CONNECTION_CLOSED', 'CONNECTION_CLOSED']);
  });

  it('a silent peer: the inactivity probe closes the connection', async () => {
    const { closed } = await against(() => {}, { probeIntervalMs: 100 });
    expect((await closed).code).toBe('PROBE_TIMEOUT');
  });

  it('answers the peer\'s echo probes, so a live client is never dropped', async () => {
    let echoed: unknown;
    peer = await FakePeer.start((msg) => {
      if ('result' in (msg as object)) echoed = msg;
    });
    const client = await OvsdbClient.connect({ endpoint: peer.endpoint });
    await waitFor('connection', () => peer?.sockets.size === 1);
    const sock = [...(peer.sockets)][0] as net.Socket;
    sock.write(JSON.stringify({ method: 'echo', params: ['ping', 42], id: 'echo' }));
    await waitFor('echo reply', () => echoed);
    expect(echoed).toEqual({ result: ['ping', 42], error: null, id: 'echo' });
    expect(client.connected).toBe(true);
    client.close();
  });

  it('falls back to monitor_cond, then monitor (v1), when a server lacks the newer methods', async () => {
    const schema = JSON.parse(readFileSync('/usr/share/openvswitch/vswitch.ovsschema', 'utf8')) as unknown;
    const U = '5a3b3f0e-8f43-4f0c-9a63-0d6f5a1c2b11';
    const methods: string[] = [];
    const { client } = await against((req, sock) => {
      methods.push(req.method);
      if (req.method === 'get_schema') reply(sock, req.id, schema);
      else if (req.method === 'monitor_cond_since' || req.method === 'monitor_cond') sock.write(JSON.stringify({ id: req.id, result: null, error: 'unknown method' }));
      else if (req.method === 'monitor') {
        reply(sock, req.id, { Bridge: { [U]: { new: { name: 'br-old', ports: ['set', []] } } } });
        sock.write(JSON.stringify({ method: 'update', params: [req.params[1], { Bridge: { [U]: { old: { name: 'br-old' }, new: { name: 'br-new', ports: ['set', []] } } } }], id: null }));
      }
    });
    const m = await client.monitor('Open_vSwitch', { Bridge: { columns: ['name', 'ports'] } });
    await waitFor('v1 update', () => m.rows('Bridge')[0]?.name === 'br-new');
    expect(methods).toEqual(['get_schema', 'monitor_cond_since', 'monitor_cond', 'monitor']);
    client.close();
  });
});

describe('a cluster member whose data is older than data already seen', () => {
  const peers: FakePeer[] = [];
  afterEach(async () => {
    for (const p of peers.splice(0)) await p.close();
  });

  /** A member that answers as a clustered ovsdb-server would, reporting `index()` in its _Server row. */
  async function member(serverSchema: unknown, index: () => number): Promise<FakePeer> {
    const p = await FakePeer.start((req, sock) => {
      if (req.method === 'get_schema') reply(sock, req.id, serverSchema);
      else if (req.method === 'monitor_cond_since') {
        const row = { name: 'OVN_Southbound', model: 'clustered', connected: true, leader: true, index: index() };
        reply(sock, req.id, [false, '00000000-0000-0000-0000-000000000001', { Database: { '5a3b3f0e-8f43-4f0c-9a63-0d6f5a1c2b11': { initial: row } } }]);
      } else if (req.method === 'echo') reply(sock, req.id, req.params);
    });
    peers.push(p);
    return p;
  }

  it('is passed over after a reconnect, with the reason, so the session never goes back in time', async () => {
    const server = await OvsdbServer.start();
    const serverSchema = JSON.parse(run('ovsdb-client', ['get-schema', server.unix, '_Server'])) as unknown;
    await server.stop();
    let ahead = 10;
    const a = await member(serverSchema, () => ahead);
    const b = await member(serverSchema, () => 5);
    const client = await OvsdbClient.connect({ endpoint: `${a.endpoint},${b.endpoint}`, database: 'OVN_Southbound', reconnect: { minBackoffMs: 20, maxBackoffMs: 40 } });
    expect(client.remote).toBe(a.endpoint);
    const rejected: string[] = [];
    client.on('rejected', (ep: string, why: string) => rejected.push(`${ep}: ${why}`));
    // a drops us; b answers but is behind what a showed us: refused, and the client goes back to a.
    ahead = 12;
    for (const s of a.sockets) s.destroy();
    await waitFor('reconnected to the member that is not behind', () => rejected.length > 0 && client.connected && client.remote === a.endpoint);
    expect(rejected[0]).toBe(`${b.endpoint}: ${b.endpoint} is not used: its data (index 5) is older than data already seen (index 10)`);
    client.close();
  });
});
