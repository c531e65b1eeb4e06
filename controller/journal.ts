import { closeSync, existsSync, fsync, openSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { type JournalRecord, type Step, journalRecordSchema } from '../schemas/journal.js';
import { preview } from '../common/text.js';
import { ControllerError } from './errors.js';
import type { Host } from './inventory.js';

/** A rollout writes some 3 KB per node (more with resumes): far below this. */
const MAX_JOURNAL_BYTES = 256 * 1024 * 1024;

type Draft = JournalRecord extends infer R ? (R extends { at: string } ? Omit<R, 'at'> : never) : never;

/** Where a host is: the address and the transport and backend that reach its OVSDB (not how we log in). */
function whereOf(host: Host): unknown {
  const t = host.transport;
  return [host.address, t.kind, t.kind === 'ssh' ? [t.port, t.user, t.agentSocket ?? null] : (t.stateDir ?? null), host.agent];
}

/** Which node a host is: its name, its chassis identity and where it is reached. A journal's values belong to that node only. */
export function hostIdentity(host: Host): string {
  return createHash('sha256').update(JSON.stringify([host.name, host.chassis.systemId, whereOf(host)])).digest('hex');
}

/** What identifies a rollout's inputs: every host's name, chassis config, hooks, where it is and its VIFs, in order. */
export function fleetDigest(hosts: Host[], vifs: Map<string, unknown[]> = new Map()): string {
  const h = createHash('sha256');
  for (const x of hosts) {
    // A host's VIFs count only when it has some: a rollout without a binding list keeps the digest it always had.
    const mine = vifs.get(x.name) ?? [];
    h.update(JSON.stringify([x.name, x.chassis, x.hooks, whereOf(x), ...(mine.length > 0 ? [mine] : [])])).update('\n');
  }
  return h.digest('hex');
}

/**
 * Refuses to use a journal's values for hosts it does not know as the same
 * nodes (another inventory, or a host that now points elsewhere).
 */
export function checkJournalHosts(journal: Journal, hosts: Host[]): void {
  const start = journal.records.find((r): r is Extract<JournalRecord, { type: 'start' }> => r.type === 'start');
  if (!start?.identities) {
    throw new ControllerError('REFUSED', `journal ${journal.path} records no host identities (not a rollout journal, or from an older ovn-chassis); roll back from the agents' own snapshots instead (omit --journal)`);
  }
  const strangers = hosts.filter((h) => start.identities?.[h.name] !== hostIdentity(h)).map((h) => h.name);
  if (strangers.length > 0) {
    throw new ControllerError('REFUSED', `journal ${journal.path} does not know ${strangers.join(', ')} as the same node${strangers.length > 1 ? 's' : ''} (another inventory, or the host now has another system-id or address); nothing was changed`);
  }
}

/**
 * The rollout journal. Records keep the order they come in; a record that a
 * change to a node depends on is `append`ed, which resolves only once it (and
 * everything before it) is on disk, so what the journal says happened,
 * happened (or was about to). A record a crash may lose without harm (a step
 * that changes nothing, which a resume simply runs again) is `note`d: it is
 * written with the next sync. A write or sync that fails ends the journal:
 * what it holds from then on may not survive a crash. A lock file beside it
 * keeps a second controller off the same journal.
 */
export class Journal {
  readonly path: string;
  readonly records: JournalRecord[];
  /** What the records say of each node, kept as they are appended (never replayed per batch). */
  readonly history: Map<string, NodeHistory>;
  private fd: number;
  private readonly lock: string;
  /** Appends waiting for the fsync that will cover them, and whether one is under way. */
  private waiting: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private syncing = false;
  /** Records not yet written: each sync writes them all at once (never while an fsync of the file runs, which a write would wait for). */
  private unwritten = '';
  /** Set by a failed write or sync: every later record and close is refused with it. */
  private broken: ControllerError | undefined;

  private constructor(path: string, records: JournalRecord[], fd: number, lock: string) {
    this.path = path;
    this.records = records;
    this.history = replay(records);
    this.fd = fd;
    this.lock = lock;
  }

  static open(path: string, resume: boolean): Journal {
    const lock = `${path}.lock`;
    takeLock(lock, path);
    try {
      const st = existsSync(path) ? statSync(path) : undefined;
      // A device or a pipe would be read forever (/dev/full never ends) and could not be synced.
      if (st && !st.isFile()) throw new ControllerError('REFUSED', `journal ${path} is not a regular file; name a file for --journal`);
      if (st && st.size > MAX_JOURNAL_BYTES) throw new ControllerError('REFUSED', `journal ${path} is ${st.size} bytes, more than any rollout writes (${MAX_JOURNAL_BYTES}); it is not a journal of ours`);
      const exists = st !== undefined && readFileSync(path, 'utf8').trim().length > 0;
      if (exists && !resume) throw new ControllerError('REFUSED', `journal ${path} already holds a rollout: continue it with --resume, or name a new --journal`);
      if (!exists && resume) throw new ControllerError('REFUSED', `--resume: journal ${path} is missing or empty; nothing to resume`);
      if (exists) dropBadTail(path);
      const records = exists ? readRecords(path) : [];
      return new Journal(path, records, openSync(path, 'a', 0o600), lock);
    } catch (err) {
      rmSync(lock, { force: true });
      throw err;
    }
  }

  /**
   * Appends a record; resolves once it is on disk. Appends made while an
   * fsync runs share the next one (group commit): nodes of a batch do not
   * queue for the disk one by one, and no caller goes on before its record
   * is durable.
   */
  append(draft: Draft): Promise<JournalRecord> {
    const rec = this.note(draft);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve: () => resolve(rec), reject });
      if (!this.syncing) this.sync();
    });
  }

  /** Records a record, to be written with the next sync: a crash may lose it, so nothing that changes a node may follow it unsynced. */
  note(draft: Draft): JournalRecord {
    if (this.broken) throw this.broken;
    const rec = { ...draft, at: new Date().toISOString() } as JournalRecord;
    this.unwritten += `${JSON.stringify(rec)}\n`;
    this.records.push(rec);
    apply(this.history, rec);
    return rec;
  }

  private sync(): void {
    this.syncing = true;
    const covered = this.waiting;
    this.waiting = [];
    const done = (err: Error | null) => {
      if (err) this.broken ??= new ControllerError('JOURNAL_FAILED', `journal ${this.path} could not be written to disk (${err.message}): what it says may not survive a crash; the rollout stops here (check the disk, then --resume)`, { cause: err });
      for (const w of covered) (this.broken ? w.reject(this.broken) : w.resolve());
      if (this.waiting.length > 0) this.sync();
      else this.syncing = false;
    };
    try {
      const bytes = Buffer.from(this.unwritten);
      this.unwritten = '';
      if (bytes.length > 0 && writeSync(this.fd, bytes) !== bytes.length) throw new Error('a short write');
    } catch (err) {
      // Called back, not thrown: this may run in the callback of the fsync before it.
      process.nextTick(done, err as Error);
      return;
    }
    fsync(this.fd, done);
  }

  /** Closes the journal once every record written is on disk (or the disk refused it: then that is thrown), and gives up its lock. */
  async close(): Promise<void> {
    let failure: unknown;
    if (this.fd >= 0 && (this.syncing || this.unwritten) && !this.broken) {
      await new Promise<void>((resolve) => {
        this.waiting.push({ resolve, reject: (err) => ((failure = err), resolve()) });
        if (!this.syncing) this.sync();
      });
    }
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    rmSync(this.lock, { force: true });
    if (failure ?? this.broken) throw failure ?? this.broken;
  }
}

function takeLock(lock: string, path: string): void {
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const holder = Number(readFileSync(lock, 'utf8').trim());
  let alive = false;
  try {
    process.kill(holder, 0);
    alive = true;
  } catch {
    alive = false;
  }
  if (alive) throw new ControllerError('REFUSED', `journal ${path} is in use by another controller (pid ${holder}); refusing to run a second one on it`);
  // The holder died (killed mid-rollout): the lock is stale, and taking it over is what --resume is for.
  writeFileSync(lock, String(process.pid), { mode: 0o600 });
}

/**
 * The last record, when a crash tore it or it does not read as a record at all
 * (complete but corrupt), is cut off before anything is appended: otherwise
 * the next record would follow it and the bad line would sit in the middle,
 * where the next resume must refuse the journal. The cut is said on stderr.
 */
function dropBadTail(path: string): void {
  const text = readFileSync(path);
  const end = text.length > 0 && text[text.length - 1] === 0x0a ? text.length - 1 : text.length;
  const start = text.lastIndexOf(0x0a, end - 1) + 1;
  const last = text.subarray(start, end).toString('utf8');
  if (end === text.length || (last.trim() && !isRecord(last))) {
    if (last.trim()) process.stderr.write(`ovn-chassis: journal ${path}: the last record ${end === text.length ? 'was torn by a crash' : 'is corrupt'} and is dropped: ${preview(last, 120)}\n`);
    truncateSync(path, start);
  }
}

function isRecord(line: string): boolean {
  try {
    return journalRecordSchema.safeParse(JSON.parse(line)).success;
  } catch {
    return false;
  }
}

/** Reads a journal; a torn or corrupt last line (a crash mid-write) is passed over, anything else malformed is refused. */
export function readRecords(path: string): JournalRecord[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  let lastIndex = lines.length - 1;
  while (lastIndex >= 0 && !lines[lastIndex]?.trim()) lastIndex--;
  const out: JournalRecord[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      if (i === lastIndex) return;
      throw new ControllerError('INVALID_CONFIG', `journal ${path} line ${i + 1} is not JSON`);
    }
    const r = journalRecordSchema.safeParse(json);
    if (!r.success) {
      if (i === lastIndex) return;
      throw new ControllerError('INVALID_CONFIG', `journal ${path} line ${i + 1} is not a journal record`);
    }
    out.push(r.data);
  });
  return out;
}

export interface NodeHistory {
  state?: 'done' | 'failed' | 'rolled-back';
  /** Each step's last phase: begun (and maybe interrupted), or ended ok / not ok. */
  steps: Map<Step, 'begun' | 'ok' | 'failed'>;
  previous?: Record<string, string | null>;
  /** Gateway priorities the drain step moved and no undrain has put back yet. */
  drained?: Record<string, string>;
}

/** What the journal says of each node, replayed in order. */
export function replay(records: JournalRecord[]): Map<string, NodeHistory> {
  const nodes = new Map<string, NodeHistory>();
  for (const r of records) apply(nodes, r);
  return nodes;
}

/** One record's effect on what the journal says of its node. */
function apply(nodes: Map<string, NodeHistory>, r: JournalRecord): void {
  if (r.type !== 'step' && r.type !== 'node') return;
  let n = nodes.get(r.host);
  if (!n) nodes.set(r.host, (n = { steps: new Map() }));
  if (r.type === 'step') {
    n.steps.set(r.step, r.phase === 'begin' ? 'begun' : r.ok ? 'ok' : 'failed');
    if (r.previous) n.previous = r.previous;
    if (r.step === 'drain' && r.gateways) n.drained = r.gateways;
    if (r.step === 'undrain' && r.phase === 'end' && r.ok) delete n.drained;
  } else {
    n.state = r.state;
    // A rollback put the node back, its gateway priorities included.
    if (r.state === 'rolled-back') delete n.drained;
    // A failed node is tried afresh on resume (after the operator fixed it): its failed steps run again.
    if (r.state === 'failed') for (const [s, v] of n.steps) if (v === 'failed') n.steps.delete(s);
  }
}
