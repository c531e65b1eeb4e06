import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { Client, SFTPWrapper, Stats } from 'ssh2';
import { DockerApi, type FileInfo, type NodeAccess, type NodeFiles, type RunResult, parseIpAddr } from '../../agent/index.js';
import type { Endpoint } from '../../schemas/endpoint.js';
import { Tail } from '../../common/tail.js';
import type { Lifeline } from './lifeline.js';
import { shellQuote } from './ssh.js';

/** SFTP's "no such file" status. */
const NO_SUCH_FILE = 2;
/** What a program run on the node may print before the rest is dropped. */
const MAX_OUTPUT = 4 * 1024 * 1024;

/** HTTP to a unix socket on the node, each request through its own SSH streamlocal forward. */
class ForwardAgent extends http.Agent {
  private readonly conn: Client;
  private readonly path: string;
  private readonly lifeline: Lifeline | undefined;

  constructor(conn: Client, path: string, lifeline?: Lifeline) {
    super({ keepAlive: false });
    this.conn = conn;
    this.path = path;
    this.lifeline = lifeline;
  }

  override createConnection(_options: unknown, callback: (err: Error | null, socket: Duplex) => void): undefined {
    this.conn.openssh_forwardOutStreamLocal(this.path, (err, channel) => callback(err ?? null, channel && this.lifeline ? this.lifeline.track(channel) : channel));
    return undefined;
  }
}

/** The node's Docker API over SSH: no Docker port opened on the node. Loaded only when a node needs it. */
export async function forwardedDocker(conn: Client, socketPath: string, lifeline?: Lifeline): Promise<Docker> {
  const { default: DockerClient } = await import('dockerode');
  return new DockerClient({ socketPath, agent: new ForwardAgent(conn, socketPath, lifeline) } as Docker.DockerOptions);
}

/** A unix socket on the node, or a TCP port it reaches, as a stream here (OpenSSH streamlocal / direct-tcpip). */
function forwardedStream(conn: Client, ep: Endpoint): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | undefined, ch: Duplex) => (err ? reject(err) : resolve(ch));
    if (ep.kind === 'unix') conn.openssh_forwardOutStreamLocal(ep.path, done);
    else conn.forwardOut('127.0.0.1', 0, ep.host, ep.port, done);
  });
}

function callback<T>(fn: (cb: (err: Error | null | undefined, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
}

function done(fn: (cb: (err?: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
}

const absent = (err: unknown) => (err as { code?: unknown }).code === NO_SUCH_FILE;

function info(s: Stats): FileInfo {
  const kind = s.isSymbolicLink() ? 'link' : s.isDirectory() ? 'dir' : s.isFile() ? 'file' : s.isSocket() ? 'socket' : 'other';
  return { kind, mode: s.mode & 0o7777, uid: s.uid, size: s.size };
}

/**
 * Runs an argument vector on the node (quoted for its login shell, so what
 * runs is exactly the vector), under the node's own `timeout`: sshd neither
 * ends a program when its channel closes nor passes it our signal, so only
 * the node can kill it at the deadline.
 */
function runOverSsh(conn: Client, argv: string[], timeoutMs: number): Promise<RunResult> {
  const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
  return new Promise((resolve, reject) => {
    conn.exec(shellQuote(['timeout', '--signal=KILL', seconds, ...argv]), (err, ch) => {
      if (err) return reject(err);
      const stdout = new Tail(MAX_OUTPUT);
      const stderr = new Tail(MAX_OUTPUT);
      let code: number | null = null;
      let settled = false;
      const settle = (timedOut: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ code: timedOut ? null : code, stdout: stdout.text(), stderr: stderr.text(), timedOut });
      };
      // The node's timeout kills the program; a node that does not is not waited for either.
      const timer = setTimeout(() => {
        ch.close();
        settle(true);
      }, timeoutMs + 2000);
      ch.on('data', (d: Buffer) => stdout.push(d));
      ch.stderr.on('data', (d: Buffer) => stderr.push(d));
      // Killed at the deadline, `timeout` and its program go down with SIGKILL (their process group), or it says 124 or 137.
      const started = Date.now();
      let killed = false;
      ch.on('exit', (c: number | null, signal?: string) => {
        code = typeof c === 'number' ? c : null;
        killed = signal === 'SIGKILL' || code === 124 || code === 137;
      });
      ch.on('close', () => settle(killed && Date.now() - started >= Number(seconds) * 1000 - 100));
    });
  });
}

/** The node's files over SFTP, with the same guarantees as the agent's own writes on the node. */
function sftpFiles(sftp: SFTPWrapper, where: string, uid: () => Promise<number>, lifeline: Lifeline): NodeFiles {
  const call = <T>(fn: (cb: (err: Error | null | undefined, value: T) => void) => void) => lifeline.guard(callback(fn));
  const act = (fn: (cb: (err?: Error | null) => void) => void) => lifeline.guard(done(fn));
  const lstat = async (path: string) => {
    try {
      return info(await call<Stats>((cb) => sftp.lstat(path, cb)));
    } catch (err) {
      if (absent(err)) return undefined;
      throw err;
    }
  };
  const mkdirOne = (dir: string, mode: number) =>
    act((cb) => sftp.mkdir(dir, { mode }, cb)).catch(async (err: unknown) => {
      if ((await lstat(dir))?.kind !== 'dir') throw err;
    });
  const files: NodeFiles = {
    where: `${where} over SFTP`,
    uid,
    lstat,
    list: async (dir) => {
      try {
        return (await call<{ filename: string }[]>((cb) => sftp.readdir(dir, cb))).map((e) => e.filename);
      } catch (err) {
        if (absent(err)) return [];
        throw err;
      }
    },
    // Read to a bound, never to the node's EOF: a node answers for itself, not for our memory.
    read: async (path, maxBytes) => {
      const handle = await call<Buffer>((cb) => sftp.open(path, 'r', cb));
      try {
        const buf = Buffer.alloc(maxBytes + 1);
        let got = 0;
        while (got <= maxBytes) {
          const n = await call<number>((cb) => sftp.read(handle, buf, got, maxBytes + 1 - got, got, (err, bytes) => cb(err, bytes)));
          if (n === 0) break;
          got += n;
        }
        if (got > maxBytes) throw new Error(`${path} holds more than ${maxBytes} bytes`);
        return buf.subarray(0, got).toString('utf8');
      } finally {
        await act((cb) => sftp.close(handle, cb)).catch(() => undefined);
      }
    },
    writeAtomic: async (path, data, mode) => {
      // Created exclusively under an unguessable name: nothing planted beside the file is written through.
      const tmp = `${path}.tmp-${randomBytes(8).toString('hex')}`;
      const handle = await call<Buffer>((cb) => sftp.open(tmp, 'wx', { mode }, cb));
      const buf = Buffer.from(data);
      try {
        await act((cb) => sftp.write(handle, buf, 0, buf.length, 0, cb));
        // fsync@openssh.com: the new content is on the node's disk before it replaces the old.
        await call<unknown>((cb) => sftp.ext_openssh_fsync(handle, cb));
      } catch (err) {
        await act((cb) => sftp.close(handle, cb)).catch(() => undefined);
        await files.remove(tmp);
        throw err;
      }
      await act((cb) => sftp.close(handle, cb));
      await files.rename(tmp, path).catch(async (err: unknown) => {
        await files.remove(tmp);
        throw err;
      });
    },
    // posix-rename@openssh.com replaces the target atomically, as rename(2); SFTP's own rename refuses an existing one.
    rename: (from, to) => act((cb) => sftp.ext_openssh_rename(from, to, cb)),
    remove: (path) => act((cb) => sftp.unlink(path, cb)).catch((err: unknown) => (absent(err) ? undefined : Promise.reject(err))),
    mkdir: async (dir, mode) => {
      const missing: string[] = [];
      for (let d = dir; d !== dirname(d) && !(await lstat(d)); d = dirname(d)) missing.unshift(d);
      for (const d of missing) await mkdirOne(d, mode);
    },
    chmod: (path, mode) => act((cb) => sftp.chmod(path, mode, cb)),
  };
  return files;
}

/**
 * A node reached over SSH, for direct mode: files by SFTP, programs by exec,
 * its OVSDB and Docker API by forwards of their sockets. Nothing of ours
 * runs there.
 */
export async function sshNode(conn: Client, where: string, lifeline: Lifeline): Promise<NodeAccess> {
  const sftp = await lifeline.guard(callback<SFTPWrapper>((cb) => conn.sftp(cb)));
  const run = (argv: string[], timeoutMs: number) => lifeline.guard(runOverSsh(conn, argv, timeoutMs));
  const firstLine = async (argv: string[]) => {
    const r = await run(argv, 10_000);
    if (r.code !== 0) throw new Error(`${where}: ${argv.join(' ')} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
    return r.stdout.split('\n')[0]?.trim() ?? '';
  };
  let uid: Promise<number> | undefined;
  const ourUid = () =>
    (uid ??= firstLine(['id', '-u']).then((text) => {
      if (!/^\d+$/.test(text)) throw new Error(`${where}: "id -u" answered ${JSON.stringify(text.slice(0, 40))}, not a uid`);
      return Number(text);
    }));
  return {
    files: sftpFiles(sftp, where, ourUid, lifeline),
    run,
    docker: async (socketPath) => new DockerApi({ agent: new ForwardAgent(conn, socketPath, lifeline) }),
    hostname: () => firstLine(['hostname']),
    interfaces: async () => {
      const r = await run(['ip', '-o', 'addr', 'show'], 10_000);
      return r.code === 0 ? parseIpAddr(r.stdout) : [];
    },
    dial: (ep) => lifeline.guard(forwardedStream(conn, ep)).then((ch) => lifeline.track(ch)),
  };
}
