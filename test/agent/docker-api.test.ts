import http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerExec } from '../../agent/backends/docker.js';
import { DockerApi, DockerApiError, demux } from '../../agent/docker-api.js';
import { tempDir } from '../../sandbox/index.js';

/** One frame of Docker's multiplexed stream. */
function frame(stream: number, text: string | Buffer): Buffer {
  const payload = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

describe("Docker's multiplexed exec output", () => {
  it('splits stdout from stderr, in order, whatever the frame sizes', () => {
    const raw = Buffer.concat([frame(1, 'a'), frame(2, 'oops\n'), frame(1, ''), frame(1, 'bc\n')]);
    expect(demux(raw)).toEqual({ stdout: 'abc\n', stderr: 'oops\n' });
  });

  it('refuses output cut inside a frame or its header, and a stream it does not know', () => {
    expect(() => demux(frame(1, 'hello').subarray(0, 10))).toThrow(/cut the exec output inside a frame$/);
    expect(() => demux(Buffer.concat([frame(1, 'x'), Buffer.from([1, 0, 0])]))).toThrow(/inside a frame header/);
    expect(() => demux(frame(3, 'x'))).toThrow(/unknown stream 3/);
  });
});

/**
 * A hostile or broken dockerd: real HTTP on a unix socket, each route
 * answering as the test says. What the client does with answers no real
 * dockerd gives.
 */
describe('a Docker API that answers badly', () => {
  let dir: string;
  let server: http.Server;
  let api: DockerApi;
  const routes = new Map<string, (res: http.ServerResponse) => void>();

  beforeAll(async () => {
    dir = tempDir('docker-api');
    server = http.createServer((req, res) => {
      const route = routes.get(`${req.method} ${req.url}`);
      req.resume();
      if (route) route(res);
      else res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: `No such container: ${req.url}` }));
    });
    await new Promise<void>((resolve) => server.listen(join(dir, 'docker.sock'), resolve));
    api = new DockerApi({ socketPath: join(dir, 'docker.sock') });
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const json = (status: number, body: unknown) => (res: http.ServerResponse) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

  it("says dockerd's own message and status for an error", async () => {
    const err = await api.inspect('nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DockerApiError);
    expect((err as DockerApiError).status).toBe(404);
    expect((err as Error).message).toMatch(/answered 404 to GET \/containers\/nope\/json: No such container/);
  });

  it('refuses an answer that is not JSON, or not what the API says, naming the field', async () => {
    routes.set('GET /containers/text/json', (res) => res.writeHead(200).end('<html>'));
    routes.set('GET /containers/odd/json', json(200, { State: { Status: 'running', Running: 'yes' } }));
    await expect(api.inspect('text')).rejects.toThrow(/answer to GET \/containers\/text\/json is not JSON/);
    await expect(api.inspect('odd')).rejects.toThrow(/not what the API says: .* at State\.Running/);
  });

  it('refuses an exec id that is not an id (it would become part of a path)', async () => {
    routes.set('POST /containers/sly/exec', json(201, { Id: '../../containers/x/kill' }));
    await expect(api.execCreate('sly', ['true'])).rejects.toThrow(/at Id/);
  });

  it('refuses an answer without end, at its bound, instead of holding it all', async () => {
    routes.set('GET /containers/big/json', (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (res.write(chunk));
        res.once('drain', pump);
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    });
    await expect(api.inspect('big')).rejects.toThrow(/answer to GET \/containers\/big\/json is over 1048576 bytes/);
  });

  it('a container already started or stopped is success (304), so a hook can be re-run', async () => {
    routes.set('POST /containers/c1/start', (res) => res.writeHead(304).end());
    routes.set('POST /containers/c1/stop?t=3', (res) => res.writeHead(304).end());
    await expect(api.start('c1')).resolves.toBeUndefined();
    await expect(api.stop('c1', 3)).resolves.toBeUndefined();
  });

  it('an exec: nothing ran when it cannot be created; unknown outcome when its end is lost or never said', async () => {
    await expect(dockerExec(api, 'gone', ['ovs-vsctl', 'show'])).rejects.toMatchObject({ code: 'UNREACHABLE', message: expect.stringMatching(/cannot exec in container gone: no such container/) });
    routes.set('POST /containers/ovs/exec', json(201, { Id: 'abc123' }));
    routes.set('POST /exec/abc123/start', (res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.docker.raw-stream' });
      res.end(Buffer.concat([frame(1, 'out'), frame(2, 'err')]));
    });
    routes.set('GET /exec/abc123/json', json(200, { ExitCode: null, Running: true }));
    await expect(dockerExec(api, 'ovs', ['ovs-vsctl', 'show'])).rejects.toMatchObject({ code: 'OUTCOME_UNKNOWN', message: expect.stringMatching(/its exit code is unknown/) });
    routes.set('GET /exec/abc123/json', json(200, { ExitCode: 3, Running: false }));
    await expect(dockerExec(api, 'ovs', ['ovs-vsctl', 'show'])).resolves.toEqual({ code: 3, stdout: 'out', stderr: 'err' });
    routes.set('POST /exec/abc123/start', (res) => {
      res.writeHead(200);
      res.end(frame(1, 'half').subarray(0, 9));
    });
    await expect(dockerExec(api, 'ovs', ['ovs-vsctl', 'show'])).rejects.toMatchObject({ code: 'OUTCOME_UNKNOWN', message: expect.stringMatching(/cut the exec output inside a frame/) });
  });

  it('gives up on a dockerd that stops answering, saying so; for an exec already started, as an unknown outcome', async () => {
    const slow = new DockerApi({ socketPath: join(dir, 'docker.sock') }, { timeoutMs: 300 });
    routes.set('GET /containers/mute/json', () => undefined);
    await expect(slow.inspect('mute')).rejects.toThrow(/dockerd did not answer GET \/containers\/mute\/json within 0.3 s/);
    routes.set('POST /containers/ovs/exec', json(201, { Id: 'def456' }));
    routes.set('POST /exec/def456/start', (res) => {
      res.writeHead(200);
      res.write(frame(1, 'partial'));
    });
    await expect(dockerExec(slow, 'ovs', ['ovs-vsctl', 'show'])).rejects.toMatchObject({ code: 'OUTCOME_UNKNOWN', message: expect.stringMatching(/did not answer POST \/exec\/def456\/start/) });
  });
});
