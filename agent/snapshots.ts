import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { check } from '../schemas/load.js';
import { type Snapshot, snapshotSchema } from '../schemas/snapshot.js';
import { AgentError } from './errors.js';
import { writeFileAtomic } from './files.js';

/** How many snapshots of applies, and apart from them of drift repairs, a node keeps at least; older ones are deleted. */
export const KEEP_SNAPSHOTS = 100;
/** Deleted once this many more have piled up. */
export const PRUNE_BATCH = 20;
const REPAIR_SUFFIX = '-repair.json';

/**
 * Snapshots in the state dir, newest last. `rollback` restores the newest an
 * apply took and moves it (and the repairs after it) to restored/, so a
 * second rollback goes one apply further back.
 */
export class SnapshotStore {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'snapshots');
  }

  /** Saves `s`, first dropping the newest snapshot when `supersedes` says `s` makes it pointless. */
  save(s: Snapshot, supersedes?: (newest: Snapshot) => boolean): string {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    let paths = this.paths();
    const newest = paths.at(-1);
    if (newest && supersedes?.(this.read(newest))) {
      rmSync(newest, { force: true });
      paths = paths.slice(0, -1);
    }
    const name = `${s.takenAt.replace(/[:.]/g, '')}-${process.pid}-${Math.random().toString(36).slice(2, 8)}${s.cause === 'repair' ? REPAIR_SUFFIX : '.json'}`;
    const path = join(this.dir, name);
    writeFileAtomic(path, `${JSON.stringify(s, null, 2)}\n`);
    // A serving agent repairing drift for months would otherwise fill the disk;
    // repairs are counted apart, so they never push the last apply out. Pruned
    // in batches, so an apply does not pay for a delete each time.
    const sameCause = [...paths, path].filter((p) => p.endsWith(REPAIR_SUFFIX) === (s.cause === 'repair'));
    if (sameCause.length > KEEP_SNAPSHOTS + PRUNE_BATCH) for (const old of sameCause.slice(0, -KEEP_SNAPSHOTS)) rmSync(old, { force: true });
    return path;
  }

  /** Drops a snapshot whose write did not happen (a conflict), so history holds only real applies. */
  discard(path: string): void {
    rmSync(path, { force: true });
  }

  /** The newest snapshot an apply took, and the drift repairs taken since (newest first). */
  lastApply(): { path: string; snapshot: Snapshot; repairsSince: string[] } | undefined {
    const paths = this.paths();
    let i = paths.length - 1;
    while (i >= 0 && paths[i]?.endsWith(REPAIR_SUFFIX)) i--;
    const path = paths[i];
    return path ? { path, snapshot: this.read(path), repairsSince: paths.slice(i + 1).reverse() } : undefined;
  }

  private paths(): string[] {
    try {
      return readdirSync(this.dir).filter((f) => f.endsWith('.json')).sort().map((f) => join(this.dir, f));
    } catch {
      return [];
    }
  }

  private read(path: string): Snapshot {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new AgentError('NO_SNAPSHOT', `snapshot ${path} is unreadable: ${(err as Error).message}`);
    }
    return check(snapshotSchema, json, path);
  }

  markRestored(path: string): void {
    const restored = join(this.dir, 'restored');
    mkdirSync(restored, { recursive: true, mode: 0o700 });
    renameSync(path, join(restored, path.slice(this.dir.length + 1)));
  }
}
