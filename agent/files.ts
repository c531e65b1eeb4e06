import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsync, lstatSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { AgentError } from './errors.js';
import type { NodeFiles } from './node.js';

const fsyncFd = promisify(fsync);

/**
 * Writes a file so that a crash leaves either the old content or the new,
 * never a torn one. The temporary file has an unguessable name and is created
 * exclusively, never through a symbolic link: a link planted beside the file
 * cannot make this (root) process write somewhere else.
 *
 * Only the two fsyncs, which wait for the disk, leave the event loop: the
 * other calls are quick ones on a local file, and a trip through libuv's
 * thread pool costs some 35 us of CPU where the call itself costs 1.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(8).toString('hex')}`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    const bytes = Buffer.from(data);
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
    await fsyncFd(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  // The rename itself must reach the disk before anyone acts on the new content.
  const dir = openSync(dirname(path), 'r');
  try {
    await fsyncFd(dir);
  } finally {
    closeSync(dir);
  }
}

const uid = () => process.getuid?.() ?? 0;
const who = (mode: number) => [mode & 0o020 ? 'its group' : '', mode & 0o002 ? 'everyone' : ''].filter(Boolean).join(' and ');

/**
 * The state dir holds snapshots (what rollback writes back) and the serving
 * agent's socket: whoever can write it can make the agent restore values of
 * their choosing, or stand in for the agent. It must be a real directory of
 * ours; one writable by others is made private again, and that is said.
 */
export async function secureStateDir(files: NodeFiles, dir: string): Promise<string[]> {
  if (!(await files.lstat(dir))) await files.mkdir(dir, 0o700);
  return securePrivateDir(files, dir, 'state dir');
}

/**
 * A directory of the agent's own, when it exists: a real directory it owns
 * (else refused), private (made so, and said, when others could write it).
 */
export async function securePrivateDir(files: NodeFiles, dir: string, what: string): Promise<string[]> {
  const st = await files.lstat(dir);
  if (!st) return [];
  if (st.kind !== 'dir') {
    throw new AgentError('UNSAFE', `${what} ${dir} is ${st.kind === 'link' ? 'a symbolic link' : 'not a directory'}; refusing to keep snapshots or a socket there`);
  }
  const ours = await files.uid();
  if (st.uid !== ours) {
    throw new AgentError('UNSAFE', `${what} ${dir} belongs to uid ${st.uid}, not to this agent (uid ${ours}): its owner could plant snapshots or stand in for the agent; refusing`);
  }
  if (st.mode & 0o022) {
    await files.chmod(dir, 0o700);
    return [`${what} ${dir} was writable by ${who(st.mode)} (mode ${(st.mode & 0o777).toString(8)}); it is now 0700`];
  }
  return [];
}

/**
 * A config the agent (running as root) applies must not be writable by anyone
 * but root and its owner: otherwise whoever can write it decides what is
 * written to the node.
 */
export function checkPrivateFile(path: string, what: string): void {
  const st = statSync(path);
  if (st.mode & 0o022) {
    throw new AgentError('UNSAFE', `${what} ${path} is writable by ${who(st.mode)} (mode ${(st.mode & 0o777).toString(8)}): whoever can write it decides what this agent writes to the node; make it private (chmod go-w)`);
  }
  if (st.uid !== uid() && st.uid !== 0) {
    throw new AgentError('UNSAFE', `${what} ${path} belongs to uid ${st.uid}, neither this agent (uid ${uid()}) nor root; refusing to apply it`);
  }
}

/** A directory where the agent puts something others must not replace (its socket): nobody else may write it. */
export function checkPrivateDir(dir: string, what: string): void {
  const st = statSync(dir);
  if (st.mode & 0o022 || (st.uid !== uid() && st.uid !== 0)) {
    throw new AgentError('UNSAFE', `${what} ${dir} can be written by others (mode ${(st.mode & 0o7777).toString(8)}, uid ${st.uid}): anyone there could replace the socket and pose as the agent; use a directory only root can write`);
  }
}

/** A serving agent's socket is trusted only if root or we own it (anyone else could be impersonating the agent). */
export function checkSocketOwner(path: string): void {
  const st = lstatSync(path);
  if (!st.isSocket()) throw new AgentError('UNSAFE', `${path} is not a socket; refusing to talk to it as the serving agent`);
  if (st.uid !== uid() && st.uid !== 0) {
    throw new AgentError('UNSAFE', `the agent socket ${path} belongs to uid ${st.uid}, neither this user (uid ${uid()}) nor root: it may not be the agent; refusing`);
  }
}
