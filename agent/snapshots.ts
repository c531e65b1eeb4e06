import { basename, join } from 'node:path';
import { check } from '../schemas/load.js';
import { type Snapshot, snapshotSchema } from '../schemas/snapshot.js';
import { AgentError } from './errors.js';
import { securePrivateDir, secureStateDir } from './files.js';
import { type NodeFiles, localNode } from './node.js';

/** How many snapshots of applies, and apart from them of drift repairs, a node keeps at least; older ones are deleted. */
export const KEEP_SNAPSHOTS = 100;
/** Deleted once this many more have piled up. */
export const PRUNE_BATCH = 20;
const REPAIR_SUFFIX = '-repair.json';
const RESTORED = 'restored';
const CORRUPT = 'corrupt';

const SEQUENCED = /^q(\d{10})-/;
/** A snapshot holds a few keys; anything much larger is not one of ours. */
const MAX_SNAPSHOT_BYTES = 1024 * 1024;

/** A snapshot's sequence number (0 for names from before sequence numbers). */
function sequenceOf(path: string): number {
  const m = SEQUENCED.exec(basename(path));
  return m ? Number(m[1]) : 0;
}

/** One more than the highest sequence number among `paths`. */
function nextSequence(paths: string[]): number {
  return Math.max(0, ...paths.map(sequenceOf)) + 1;
}

/**
 * The snapshot each store last wrote, per node (its files) and dir: the next
 * apply there compares it with the node, and reading back what this process
 * just wrote would cost each apply an open, a read and a parse. Snapshot files
 * are never changed once written, so a file under the same name and of the
 * same size is this one; anything else is read from disk as before.
 */
const lastWritten = new WeakMap<NodeFiles, Map<string, { path: string; size: number; snapshot: Snapshot }>>();

/**
 * Snapshots in the state dir, newest last. `rollback` restores the newest an
 * apply took and moves it (and the repairs after it) to restored/, so a
 * second rollback goes one apply further back.
 */
export class SnapshotStore {
  private readonly dir: string;
  private readonly files: NodeFiles;
  /** What the store had to do about damaged files, for the caller to report. */
  readonly warnings: string[] = [];

  private constructor(stateDir: string, files: NodeFiles) {
    this.dir = join(stateDir, 'snapshots');
    this.files = files;
  }

  /** The store in a state dir on the node `files` reach; the dir is made private, or refused if it is not ours. */
  static async open(stateDir: string, files: NodeFiles = localNode.files): Promise<SnapshotStore> {
    const store = new SnapshotStore(stateDir, files);
    store.warnings.push(...(await secureStateDir(files, stateDir)));
    // A folder planted inside while the state dir was open to others survives making the state dir private: each is checked too.
    for (const dir of [store.dir, join(store.dir, RESTORED), join(store.dir, CORRUPT)]) store.warnings.push(...(await securePrivateDir(files, dir, 'snapshot folder')));
    return store;
  }

  /** Saves `s`, first dropping the newest snapshot when `supersedes` says `s` makes it pointless. */
  async save(s: Snapshot, supersedes?: (newest: Snapshot) => boolean): Promise<string> {
    let paths = await this.paths();
    if (paths.length === 0) await this.files.mkdir(this.dir, 0o700);
    const newest = paths.at(-1);
    // A damaged newest snapshot must not stop every later apply (and the daemon's repairs): it is set aside, and said.
    const previous = newest ? await this.readOrQuarantine(newest, true) : undefined;
    if (newest && !previous) paths = paths.slice(0, -1);
    if (newest && previous && supersedes?.(previous)) {
      await this.files.remove(newest);
      paths = paths.slice(0, -1);
    }
    // Ordered by a sequence number, not by the clock: a clock stepped back must not make a new snapshot sort as an old one.
    // A damaged snapshot keeps its number: a later one must sort after it, so a rollback knows which side of the gap it is on.
    const seq = nextSequence([...paths, ...(await this.damaged())]);
    const name = `q${String(seq).padStart(10, '0')}-${s.takenAt.replace(/[:.]/g, '')}-${process.pid}-${Math.random().toString(36).slice(2, 8)}${s.cause === 'repair' ? REPAIR_SUFFIX : '.json'}`;
    const path = join(this.dir, name);
    const text = `${JSON.stringify(s, null, 2)}\n`;
    await this.files.writeAtomic(path, text, 0o600);
    const memo = lastWritten.get(this.files) ?? new Map();
    lastWritten.set(this.files, memo.set(this.dir, { path, size: Buffer.byteLength(text), snapshot: s }));
    // A serving agent repairing drift for months would otherwise fill the disk;
    // repairs are counted apart, so they never push the last apply out. Pruned
    // in batches, so an apply does not pay for a delete each time.
    const sameCause = [...paths, path].filter((p) => p.endsWith(REPAIR_SUFFIX) === (s.cause === 'repair'));
    if (sameCause.length > KEEP_SNAPSHOTS + PRUNE_BATCH) for (const old of sameCause.slice(0, -KEEP_SNAPSHOTS)) await this.files.remove(old);
    return path;
  }

  /** Drops a snapshot whose write did not happen (a conflict), so history holds only real applies. */
  discard(path: string): Promise<void> {
    return this.files.remove(path);
  }

  /** The newest snapshot an apply took, and the drift repairs taken since (newest first). */
  async lastApply(): Promise<{ path: string; snapshot: Snapshot; repairsSince: string[] } | undefined> {
    const paths = await this.paths();
    let i = paths.length - 1;
    while (i >= 0 && paths[i]?.endsWith(REPAIR_SUFFIX)) i--;
    const path = paths[i];
    if (!path) return undefined;
    const snapshot = await this.readOrQuarantine(path);
    if (!snapshot) throw new AgentError('NO_SNAPSHOT', `${this.warnings.at(-1)}: the values it held cannot be restored, so nothing was rolled back`);
    // Restoring a snapshot older than a damaged one would undo two applies at once, the later only in part: a person decides that.
    const damaged = (await this.damaged()).filter((f) => sequenceOf(f) > sequenceOf(path));
    if (damaged.length > 0) {
      throw new AgentError('NO_SNAPSHOT', `the snapshot of a later apply is damaged (${join(this.dir, CORRUPT, damaged.at(-1) as string)}): restoring ${path} would undo that apply only in part along with its own; nothing was rolled back. Look at the node (ovn-chassis-agent show), then move the damaged snapshot out of ${join(this.dir, CORRUPT)} to roll back past it`);
    }
    return { path, snapshot, repairsSince: paths.slice(i + 1).reverse() };
  }

  /** Names of the snapshots set aside as damaged, in sequence. */
  private async damaged(): Promise<string[]> {
    return (await this.files.list(join(this.dir, CORRUPT))).filter((f) => f.endsWith('.json')).sort();
  }

  private async paths(): Promise<string[]> {
    return (await this.files.list(this.dir)).filter((f) => f.endsWith('.json')).sort().map((f) => join(this.dir, f));
  }

  private async readOrQuarantine(path: string, mayRemember = false): Promise<Snapshot | undefined> {
    try {
      return await this.read(path, mayRemember);
    } catch (err) {
      const corrupt = join(this.dir, CORRUPT);
      await this.files.mkdir(corrupt, 0o700);
      await this.files.rename(path, join(corrupt, path.slice(this.dir.length + 1)));
      this.warnings.push(`${(err as Error).message}; it was moved to ${corrupt}, and rolling back past it is no longer possible from this node's snapshots`);
      return undefined;
    }
  }

  private async read(path: string, mayRemember: boolean): Promise<Snapshot> {
    let json: unknown;
    try {
      const st = await this.files.lstat(path);
      if (st?.kind !== 'file') throw new Error(`it is ${st ? `a ${st.kind}` : 'gone'}, not a file`);
      // Only a snapshot this agent wrote may decide what rollback writes: one of another user's, or one others could write, may have been planted.
      const ours = await this.files.uid();
      if (st.uid !== ours) throw new Error(`it belongs to uid ${st.uid}, not to this agent (uid ${ours}), so it may have been planted`);
      if (st.mode & 0o022) throw new Error(`others can write it (mode ${(st.mode & 0o777).toString(8)}), so it may have been changed`);
      if (st.size > MAX_SNAPSHOT_BYTES) throw new Error(`it is ${st.size} bytes, more than any snapshot`);
      const memo = mayRemember ? lastWritten.get(this.files)?.get(this.dir) : undefined;
      if (memo?.path === path && memo.size === st.size) return memo.snapshot;
      json = JSON.parse(await this.files.read(path, MAX_SNAPSHOT_BYTES));
    } catch (err) {
      throw new AgentError('NO_SNAPSHOT', `snapshot ${path} is unreadable: ${(err as Error).message}`);
    }
    return check(snapshotSchema, json, path);
  }

  async markRestored(path: string): Promise<void> {
    const restored = join(this.dir, RESTORED);
    await this.files.mkdir(restored, 0o700);
    await this.files.rename(path, join(restored, path.slice(this.dir.length + 1)));
  }
}
