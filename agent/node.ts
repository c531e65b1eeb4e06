import { AgentError } from './errors.js';
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, constants, lstatSync, mkdirSync, openSync, readSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import type { Duplex } from 'node:stream';
import type { Endpoint } from '../schemas/endpoint.js';
import { Tail } from '../common/tail.js';
import { DockerApi } from './docker-api.js';
import { writeFileAtomic } from './files.js';

/** What a program run on this machine may print before the rest is dropped (as over SSH). */
const MAX_RUN_OUTPUT = 4 * 1024 * 1024;

export interface FileInfo {
  kind: 'file' | 'dir' | 'link' | 'socket' | 'other';
  /** Permission bits (mode & 0o7777). */
  mode: number;
  uid: number;
  size: number;
}

/**
 * The node's files as the agent's logic uses them: its state dir,
 * system-id.conf, MidoNet's host id. Local when the agent runs on the node;
 * SFTP in direct mode, so snapshots live on the node whichever way a change
 * was made.
 */
export interface NodeFiles {
  /** Where these files are, for messages ("this machine", "cmp-1 over SFTP"). */
  readonly where: string;
  /** The uid whose files are ours: the agent's, or the SSH user's on the node. */
  uid(): Promise<number>;
  /** Undefined when nothing is there. */
  lstat(path: string): Promise<FileInfo | undefined>;
  /** Names in a directory; none when it does not exist. */
  list(dir: string): Promise<string[]>;
  /** At most `maxBytes`: a file that holds more is refused, whatever its size said a moment before. */
  read(path: string, maxBytes: number): Promise<string>;
  /** A crash leaves the old content or the new, never a torn file; the temporary name is unguessable and created exclusively. */
  writeAtomic(path: string, data: string | Uint8Array, mode: number): Promise<void>;
  /** Replaces `to` if it exists. */
  rename(from: string, to: string): Promise<void>;
  /** Nothing there is not an error. */
  remove(path: string): Promise<void>;
  /** With its parents. */
  mkdir(dir: string, mode: number): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
}

export interface RunResult {
  /** null when the program did not exit by itself (it was killed, or it timed out). */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** One network interface and its addresses, each with its prefix length. */
export interface NodeInterface {
  name: string;
  addresses: { address: string; prefix: number }[];
}

/**
 * Everything the agent's logic needs of the node besides its Open vSwitch:
 * files, programs (argument vectors, no shell), its Docker API and its
 * identity. `dial` reaches the node's OVSDB when the agent is not on the node.
 */
export interface NodeAccess {
  files: NodeFiles;
  run(argv: string[], timeoutMs: number): Promise<RunResult>;
  docker(socketPath: string): Promise<DockerApi>;
  hostname(): Promise<string>;
  interfaces(): Promise<NodeInterface[]>;
  dial?: (ep: Endpoint) => Promise<Duplex>;
}

function fileKind(s: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean; isSocket(): boolean }): FileInfo['kind'] {
  return s.isSymbolicLink() ? 'link' : s.isDirectory() ? 'dir' : s.isFile() ? 'file' : s.isSocket() ? 'socket' : 'other';
}

/** How much of a file is read at a time. */
const READ_PIECE = 64 * 1024;

const missing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * The state dir, system-id.conf and MidoNet's files are small and local:
 * each call is made at once, not through libuv's thread pool, whose round
 * trip costs some 35 us of CPU where the call itself costs 1. Only fsync,
 * which waits for the disk, leaves the event loop (in writeFileAtomic).
 */
const localFiles: NodeFiles = {
  where: 'this machine',
  uid: async () => process.getuid?.() ?? 0,
  lstat: async (path) => {
    try {
      const s = lstatSync(path);
      return { kind: fileKind(s), mode: s.mode & 0o7777, uid: s.uid, size: s.size };
    } catch (err) {
      if (missing(err)) return undefined;
      throw err;
    }
  },
  list: async (dir) => {
    try {
      return readdirSync(dir);
    } catch (err) {
      if (missing(err)) return [];
      throw err;
    }
  },
  // In pieces as the file has them, up to one byte past the bound: a bound of a megabyte costs a small file nothing.
  // Never blocking (a file swapped for a pipe would hold the event loop) and never through a link.
  read: async (path, maxBytes) => {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    try {
      const parts: Buffer[] = [];
      let got = 0;
      for (;;) {
        const piece = Buffer.allocUnsafe(Math.min(READ_PIECE, maxBytes + 1 - got));
        const bytesRead = readSync(fd, piece, 0, piece.length, null);
        if (bytesRead === 0) break;
        parts.push(piece.subarray(0, bytesRead));
        got += bytesRead;
        if (got > maxBytes) throw new Error(`${path} holds more than ${maxBytes} bytes`);
      }
      return Buffer.concat(parts, got).toString('utf8');
    } finally {
      closeSync(fd);
    }
  },
  writeAtomic: writeFileAtomic,
  rename: async (from, to) => renameSync(from, to),
  remove: async (path) => rmSync(path, { force: true }),
  mkdir: async (dir, mode) => {
    mkdirSync(dir, { recursive: true, mode });
  },
  chmod: async (path, mode) => chmodSync(path, mode),
};

/** The machine this process runs on: where the agent itself runs. */
export const localNode: NodeAccess = {
  files: localFiles,
  run: (argv, timeoutMs) => {
    const [cmd, ...args] = argv as [string, ...string[]];
    return new Promise((resolve) => {
      // A process group of its own: Ctrl-C at the operator's terminal stops a rollout after its batch, and must not kill a hook half-way.
      const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      const stdout = new Tail(MAX_RUN_OUTPUT);
      const stderr = new Tail(MAX_RUN_OUTPUT);
      child.stdout.on('data', (d: Buffer) => stdout.push(d));
      child.stderr.on('data', (d: Buffer) => stderr.push(d));
      let timedOut = false;
      // At the deadline the whole group goes, not only the program: a shell's children with it.
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          process.kill(-(child.pid as number), 'SIGKILL');
        } catch {
          // Already gone.
        }
      }, timeoutMs);
      child.once('error', (err) => {
        clearTimeout(timer);
        resolve({ code: null, stdout: '', stderr: err.message, timedOut: false });
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code: timedOut ? null : code, stdout: stdout.text(), stderr: stderr.text(), timedOut });
      });
    });
  },
  docker: async (socketPath) => new DockerApi({ socketPath }),
  hostname: async () => hostname(),
  interfaces: async () =>
    Object.entries(networkInterfaces()).map(([name, list]) => ({
      name,
      addresses: (list ?? []).map((a) => ({ address: a.address, prefix: Number(a.cidr?.split('/')[1] ?? (a.family === 'IPv4' ? 32 : 128)) })),
    })),
};

/**
 * `ip -o addr` lines: "2: eth0    inet 192.0.2.11/24 brd …", one address
 * each. The node's words: an address that is not one, or a prefix too long
 * for its family, is left out.
 */
export function parseIpAddr(text: string): NodeInterface[] {
  const byName = new Map<string, NodeInterface>();
  for (const m of text.matchAll(/^\d+:\s+([^\s:@]+)\S*\s+inet6?\s+([0-9A-Fa-f.:]+)\/(\d{1,3})\b/gm)) {
    const name = m[1] as string;
    const address = m[2] as string;
    const prefix = Number(m[3]);
    const family = isIP(address);
    if (family === 0 || prefix > (family === 4 ? 32 : 128)) continue;
    const iface = byName.get(name) ?? { name, addresses: [] };
    iface.addresses.push({ address, prefix });
    byName.set(name, iface);
  }
  return [...byName.values()];
}

/**
 * A node that is a network namespace of this machine (the datapath sandbox's
 * nodes): its files are this machine's, its programs run inside the
 * namespace, and its interfaces are the namespace's.
 */
export function namespaceNode(netns: string): NodeAccess {
  // Only the network namespace is entered: "ip netns exec" also makes a mount namespace and mounts
  // sysfs in it, which can fail under load; nothing run here reads the namespace's sysfs.
  const run = (argv: string[], timeoutMs: number) => localNode.run(['nsenter', `--net=/run/netns/${netns}`, '--', ...argv], timeoutMs);
  return {
    ...localNode,
    run,
    interfaces: async () => {
      const r = await run(['ip', '-o', 'addr', 'show'], 10_000);
      if (r.code !== 0) throw new AgentError('BACKEND_FAILED', `cannot list the interfaces of network namespace ${netns}: ${r.stderr.trim().slice(0, 300)}`);
      return parseIpAddr(r.stdout);
    },
  };
}
