import type { ChassisConfig } from '../schemas/chassis.js';
import type { Snapshot } from '../schemas/snapshot.js';
import { type DiffOptions, type Plan, diff } from './diff.js';
import { AgentError } from './errors.js';
import { restoreCms } from './cms.js';
import { CMS_OPTIONS, MANAGED_CMS, SYSTEM_ID, splitList } from './keys.js';
import { render } from './render.js';
import { interfacesOf } from './facts.js';
import { type NodeAccess, type NodeFiles, localNode } from './node.js';
import { resolveEncapIp } from './resolve.js';
import { SnapshotStore } from './snapshots.js';
import { stalePlan } from './planned.js';
import type { Planned } from '../schemas/saved-plan.js';
import { type Backend, type NodeState, type WriteSet, isEmptyWrite, settingsOf, splitWrite } from './state.js';

/** A plan as for a node: `node` resolves what the config leaves to it (an encap IP by interface or network). */
export interface PlanOptions extends DiffOptions {
  /** The node (default: this machine): its interfaces, and its files (the state dir, system-id.conf). */
  node?: NodeAccess;
}

export interface ApplyOptions extends PlanOptions {
  stateDir: string;
  /** Rewritten with the new id on an allowed system-id change, where the host has it. */
  systemIdConfPath?: string;
  /** Compare-and-set attempts before giving up on a busy database. */
  maxAttempts?: number;
  onConflict?: (attempt: number) => void;
  /** `repair` when the serving agent undoes drift; a rollback passes over those. */
  cause?: Snapshot['cause'];
  /** A saved plan for this node: written only while the node holds its recorded values and needs exactly its changes. */
  planned?: Planned | undefined;
}

export interface ApplyResult {
  plan: Plan;
  applied: boolean;
  attempts: number;
  snapshot?: string;
  /** The previous value of every key written (null: it did not exist). */
  previous?: Snapshot['keys'];
  /** What went wrong around a write that happened (the node was changed all the same). */
  warnings: string[];
}

export const DEFAULT_SYSTEM_ID_CONF = '/etc/openvswitch/system-id.conf';
const DEFAULT_ATTEMPTS = 5;

export async function planFor(backend: Backend, config: ChassisConfig, opts: PlanOptions = {}): Promise<{ state: NodeState; plan: Plan }> {
  const node = opts.node ?? localNode;
  const { config: concrete, resolvedEncapIp } = await resolveEncapIp(config, () => interfacesOf(node));
  const state = await backend.read();
  const plan = diff(state, render(concrete), opts);
  plan.refusals.push(...(await socketClashes(plan, node)));
  return { state, plan: resolvedEncapIp ? { ...plan, resolvedEncapIp } : plan };
}

/** A new punix: Manager makes ovsdb-server (root) unlink its path and put a socket there: a file already there is refused. */
async function socketClashes(plan: Plan, node: NodeAccess): Promise<string[]> {
  const out: string[] = [];
  for (const target of splitWrite(plan.write).managers.add) {
    if (!target.startsWith('punix:')) continue;
    const st = await node.files.lstat(target.slice('punix:'.length));
    if (st && st.kind !== 'socket') out.push(`Manager ${target}: ${target.slice('punix:'.length)} is ${st.kind === 'dir' ? 'a directory' : `a ${st.kind}`} on ${node.files.where}, which ovsdb-server would delete to make its socket`);
  }
  return out;
}

/**
 * Read, diff, snapshot, write — the write guarded by the values read. When
 * someone else writes in between, the write is refused by the database and
 * the whole cycle runs again on fresh data, a bounded number of times.
 */
export async function apply(backend: Backend, config: ChassisConfig, opts: ApplyOptions): Promise<ApplyResult> {
  const files = (opts.node ?? localNode).files;
  const store = await SnapshotStore.open(opts.stateDir, files);
  const max = opts.maxAttempts ?? DEFAULT_ATTEMPTS;
  for (let attempt = 1; attempt <= max; attempt++) {
    const { state, plan } = await planFor(backend, config, opts);
    if (plan.refusals.length > 0) throw new AgentError('REFUSED', plan.refusals.join('; '));
    // Judged on the very state the write is guarded by: a change after this read makes the write a conflict and a re-read.
    const stale = opts.planned ? stalePlan(settingsOf(state), plan.changes, opts.planned) : [];
    if (stale.length > 0) throw new AgentError('PLAN_STALE', `the node changed since the plan was made: ${stale.join('; ')}; nothing was written (make a new plan)`);
    if (isEmptyWrite(plan.write)) return { plan, applied: false, attempts: attempt, warnings: store.warnings };
    const snapshot = snapshotOf(state, plan.write, backend.description, opts.cause ?? 'apply');
    // An agent killed between its snapshot and its write leaves a snapshot of
    // values the node still holds; restoring it would change nothing, and
    // keeping it would make the next rollback stop short of the real previous state.
    let snapshotPath: string;
    try {
      snapshotPath = await store.save(snapshot, (newest) => restoreIsNoop(state, newest.keys));
    } catch (err) {
      if (err instanceof AgentError) throw err;
      throw new AgentError('STATE_DIR_FAILED', `cannot save the snapshot in ${opts.stateDir} (${(err as Error).message}); nothing was written to the node`, { cause: err });
    }
    try {
      await backend.write(state, plan.write);
    } catch (err) {
      // Only a conflict proves nothing was written. After any other failure the write may have landed
      // (a connection lost before the reply): the snapshot stays, and a rollback passes over it if not.
      if (err instanceof AgentError && err.code === 'CONFLICT') {
        await store.discard(snapshotPath);
        opts.onConflict?.(attempt);
        continue;
      }
      throw err;
    }
    // The node is changed: from here on a failure is reported beside the result, never instead of it.
    const warnings = [...store.warnings];
    try {
      await updateSystemIdConf(files, state, config.systemId, opts.systemIdConfPath ?? DEFAULT_SYSTEM_ID_CONF);
    } catch (err) {
      warnings.push(`the node's OVSDB now has system-id ${config.systemId}, but ${opts.systemIdConfPath ?? DEFAULT_SYSTEM_ID_CONF} could not be updated (${(err as Error).message}): fix it by hand, or the old id returns when Open vSwitch restarts`);
    }
    return { plan, applied: true, attempts: attempt, snapshot: snapshotPath, previous: snapshot.keys, warnings };
  }
  throw new AgentError('CONFLICT_UNRESOLVED', `the database kept changing under us: ${max} attempts each met a concurrent write; nothing was written`);
}

export interface RollbackResult {
  restored: Record<string, string | null>;
  snapshot: string;
  /** Snapshots passed over because the node already holds their values (left by an apply killed before its write). */
  passedOver?: string[];
  warnings: string[];
}

/**
 * Restores what the last apply replaced, exactly (removing keys that did not
 * exist), compare-and-set as apply. Drift repairs since then are passed over,
 * and so is a snapshot whose values the node still holds: its apply never
 * wrote (killed between snapshot and write), and "restoring" it would change
 * nothing while saying it did.
 */
export async function rollback(backend: Backend, opts: { stateDir: string; node?: NodeAccess; maxAttempts?: number }): Promise<RollbackResult> {
  const store = await SnapshotStore.open(opts.stateDir, opts.node?.files);
  const state = await backend.read();
  const passedOver: string[] = [];
  for (;;) {
    const last = await store.lastApply();
    if (!last) {
      const why = passedOver.length > 0 ? `the node already holds the values of every snapshot left (${passedOver.length} passed over)` : `no snapshot of an apply in ${opts.stateDir}/snapshots`;
      throw new AgentError('NO_SNAPSHOT', `nothing to roll back: ${why}`);
    }
    if (restoreIsNoop(state, last.snapshot.keys)) {
      await store.markRestored(last.path);
      passedOver.push(last.path);
      continue;
    }
    const restored = await restoreKeys(backend, last.snapshot.keys, opts.maxAttempts);
    // The node is restored: a state dir that cannot record it is said, not made a failure.
    const warnings = [...store.warnings];
    try {
      for (const p of [...last.repairsSince, last.path]) await store.markRestored(p);
    } catch (err) {
      warnings.push(`restored, but the snapshot could not be marked as used (${(err as Error).message}); the next rollback will pass over it`);
    }
    return { restored, snapshot: last.path, warnings, ...(passedOver.length > 0 ? { passedOver } : {}) };
  }
}

/**
 * What putting `keys` back means on the node as it is now: each key to its
 * previous value (null: removed), except ovn-cms-options, where only our own
 * tokens are put back as they were and everyone else's stay as they are now.
 */
export function restoreWrite(state: NodeState, keys: Snapshot['keys']): WriteSet {
  const target: Record<string, string | null> = { ...keys };
  if (CMS_OPTIONS in keys) {
    const ownedNow = splitList(state.externalIds.get(MANAGED_CMS));
    const ownedBefore = MANAGED_CMS in keys ? splitList(keys[MANAGED_CMS] ?? undefined) : ownedNow;
    target[CMS_OPTIONS] = restoreCms(state.externalIds.get(CMS_OPTIONS), keys[CMS_OPTIONS] ?? null, ownedBefore, ownedNow) ?? null;
  }
  return {
    set: Object.fromEntries(Object.entries(target).filter((e): e is [string, string] => e[1] !== null)),
    remove: Object.entries(target).filter(([, v]) => v === null).map(([k]) => k),
    bridges: [],
    ports: [],
  };
}

/** Puts keys back to the given values (null: remove the key), guarded by the values read; returns what was written. */
export async function restoreKeys(backend: Backend, keys: Snapshot['keys'], maxAttempts = DEFAULT_ATTEMPTS): Promise<Snapshot['keys']> {
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const state = await backend.read();
    const w = restoreWrite(state, keys);
    try {
      await backend.write(state, w);
      return { ...w.set, ...Object.fromEntries(w.remove.map((k) => [k, null])) };
    } catch (err) {
      if (!(err instanceof AgentError && err.code === 'CONFLICT')) throw err;
    }
  }
  throw new AgentError('CONFLICT_UNRESOLVED', `restoring met a concurrent write ${maxAttempts} times; nothing was written`);
}

/** Whether putting `keys` back would leave the node as it is (judged as the restore itself would act, cms token by token). */
function restoreIsNoop(state: NodeState, keys: Snapshot['keys']): boolean {
  const now = settingsOf(state);
  const w = restoreWrite(state, keys);
  return Object.entries(w.set).every(([k, v]) => now.get(k) === v) && w.remove.every((k) => !now.has(k));
}

function snapshotOf(state: NodeState, w: WriteSet, backend: string, cause: Snapshot['cause']): Snapshot {
  const now = settingsOf(state);
  const keys: Record<string, string | null> = {};
  for (const k of [...Object.keys(w.set), ...w.remove]) keys[k] = now.get(k) ?? null;
  const systemId = state.externalIds.get(SYSTEM_ID);
  return { version: 1, takenAt: new Date().toISOString(), backend, cause, ...(systemId ? { systemId } : {}), keys };
}

/** ovs-ctl puts system-id.conf back into the database at start: keep it in step, or the old id returns. */
async function updateSystemIdConf(files: NodeFiles, state: NodeState, newId: string, path: string): Promise<void> {
  const oldId = state.externalIds.get(SYSTEM_ID);
  if (oldId !== undefined && oldId !== newId && (await files.lstat(path))) await files.writeAtomic(path, `${newId}\n`, 0o644);
}
