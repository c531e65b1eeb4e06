import { homedir } from 'node:os';
import { type Monitor, OvsdbClient, type Row, type RowChange, type TlsFiles, cond, mutate, mutation, remove, set, uuid } from '../ovsdb/index.js';
import { type ChassisConfig, asList } from '../schemas/chassis.js';
import type { Inventory } from '../schemas/inventory.js';
import type { Logger } from '../common/log.js';
import { namedIps } from '../schemas/keys.js';
import { ControllerError } from './errors.js';
import { SouthboundIndex, TouchFanout, asInserts } from './sb-index.js';

/** What the Southbound DB must show for a node to count as done. */
export interface Expectation {
  host: string;
  systemId: string;
  encaps: { type: string; ip: string }[];
  gateway: boolean;
}

export type Verdict =
  | { host: string; systemId: string; state: 'verified' }
  | { host: string; systemId: string; state: 'missing' }
  | { host: string; systemId: string; state: 'mismatch'; problems: string[] }
  /** The server read from could not show that its data is current (a relay cut off from its source): it proves nothing either way. */
  | { host: string; systemId: string; state: 'unproven'; why: string };

/** Every verdict, when the data behind them was not shown to be current: unproven, saying why. */
export function unproven(verdicts: Verdict[], why: string): Verdict[] {
  return verdicts.map((v) => ({ host: v.host, systemId: v.systemId, state: 'unproven', why }));
}

/** `resolvedIps`: what the node found for an encap.ip given as an interface or a network (its plan says). */
export function expectationOf(host: string, c: ChassisConfig, resolvedIps?: string[]): Expectation {
  const ips = namedIps(c.encap.ip) ?? resolvedIps;
  if (!ips) throw new ControllerError('NOT_VERIFIED', `${host}: its encap IP is found on the node (${JSON.stringify(c.encap.ip)}), and the node has not said which it found`);
  // ovn-controller pairs every encap type with every encap IP.
  const encaps = asList(c.encap.type).flatMap((type) => ips.map((ip) => ({ type, ip })));
  return { host, systemId: c.systemId, encaps, gateway: c.gateway === true };
}

export function cmsTokens(row: Row): string[] {
  const from = (col: string) => (row[col] instanceof Map ? ((row[col] as Map<string, string>).get('ovn-cms-options') ?? '') : '');
  return `${from('other_config')},${from('external_ids')}`.split(',').map((t) => t.trim()).filter(Boolean);
}

/** Pure: one node's verdict from the SB rows at hand. */
export function assess(exp: Expectation, chassis: Row | undefined, encapRows: Map<string, Row>): Verdict {
  const base = { host: exp.host, systemId: exp.systemId };
  if (!chassis) return { ...base, state: 'missing' };
  const problems: string[] = [];
  const have = (chassis.encaps as string[]).map((u) => encapRows.get(u)).filter((e): e is Row => e !== undefined);
  const key = (e: { type?: unknown; ip?: unknown }) => `${String(e.type)}:${String(e.ip)}`;
  const want = new Set(exp.encaps.map(key));
  const got = new Set(have.map(key));
  if (want.size !== got.size || [...want].some((k) => !got.has(k))) {
    problems.push(`encaps: desired ${[...want].sort().join(', ')}; the Southbound DB has ${[...got].sort().join(', ') || 'none'}`);
  }
  const gw = cmsTokens(chassis).includes('enable-chassis-as-gw');
  if (gw !== exp.gateway) problems.push(`gateway: desired ${exp.gateway}; the Southbound DB says ${gw}`);
  return problems.length > 0 ? { ...base, state: 'mismatch', problems } : { ...base, state: 'verified' };
}

/**
 * Every expected node's verdict, re-assessed only for the chassis a
 * Southbound change touched. Pure: fed the names an index reports.
 */
export class VerdictBoard {
  private readonly exps: Expectation[];
  private readonly bySystemId = new Map<string, Expectation[]>();
  private readonly verdicts = new Map<Expectation, Verdict>();
  private unverified: number;

  constructor(exps: Expectation[], sb: Pick<SouthboundIndex, 'chassisByName' | 'encaps'>) {
    this.exps = exps;
    for (const e of exps) this.bySystemId.set(e.systemId, [...(this.bySystemId.get(e.systemId) ?? []), e]);
    this.unverified = exps.length;
    this.reassess(this.bySystemId.keys(), sb);
  }

  /** Re-assesses the nodes expecting these chassis; returns the verdicts that just turned verified. */
  reassess(names: Iterable<string>, sb: Pick<SouthboundIndex, 'chassisByName' | 'encaps'>): Verdict[] {
    const newlyVerified: Verdict[] = [];
    for (const name of names) {
      for (const e of this.bySystemId.get(name) ?? []) {
        const before = this.verdicts.get(e)?.state === 'verified';
        const v = assess(e, sb.chassisByName(name), sb.encaps());
        this.verdicts.set(e, v);
        const now = v.state === 'verified';
        if (now && !before) newlyVerified.push(v);
        this.unverified += before === now ? 0 : now ? -1 : 1;
      }
    }
    return newlyVerified;
  }

  allVerified(): boolean {
    return this.unverified === 0;
  }

  /** In the order the expectations were given. */
  all(): Verdict[] {
    return this.exps.map((e) => this.verdicts.get(e) as Verdict);
  }
}

/** Why a node did not verify, as a sentence; undefined when it did. */
export function whyNotVerified(v: Verdict, timeoutS: number): string | undefined {
  if (v.state === 'missing') return `no chassis ${v.systemId} in the Southbound DB after ${timeoutS} s`;
  if (v.state === 'mismatch') return `chassis ${v.systemId} does not match: ${v.problems.join('; ')}`;
  if (v.state === 'unproven') return `chassis ${v.systemId} is not proven: ${v.why}`;
  return undefined;
}

/**
 * One proof that the view is current, then a judge of any node from it. With
 * no view (`sb` says why it could not be reached) or no proof, every verdict
 * is unproven, saying why.
 */
export async function judgeFromView(sb: SouthboundView | string): Promise<(exp: Expectation) => Verdict> {
  const why = typeof sb === 'string' ? sb : await sb.confirmCurrent().then(() => undefined, (err: Error) => err.message);
  return (exp) => (why !== undefined || typeof sb === 'string'
    ? { host: exp.host, systemId: exp.systemId, state: 'unproven', why: why ?? 'the Southbound DB could not be reached' }
    : assess(exp, sb.chassisByName(exp.systemId), sb.encaps()));
}

const SB = 'OVN_Southbound';

/** How the controller reaches the Southbound DB: its members or relays, and its TLS files for ssl: ones. */
export interface SouthboundAccess {
  endpoints: string[];
  tls?: TlsFiles;
}

const expand = (p: string) => (p.startsWith('~/') ? `${homedir()}${p.slice(1)}` : p);

export function southboundAccess(inv: Inventory): SouthboundAccess {
  const t = inv.ovn.tls;
  return {
    endpoints: asList(inv.ovn.southbound),
    ...(t ? { tls: { key: expand(t.privateKey), cert: expand(t.certificate), ca: expand(t.caCert) } } : {}),
  };
}

function sbClient(access: SouthboundAccess, log: Logger | undefined, leaderOnly: boolean): Promise<OvsdbClient> {
  return OvsdbClient.connect({
    endpoint: access.endpoints.join(','),
    // Never read from a member cut off from its cluster, nor go back in time: a proof from there proves nothing.
    database: SB,
    leaderOnly,
    reconnect: true,
    ...(access.tls ? { tls: access.tls } : {}),
    ...(log ? { logger: log } : {}),
  });
}

export interface SouthboundView {
  access: SouthboundAccess;
  client: OvsdbClient;
  monitor: Monitor;
  chassisByName(name: string): Row | undefined;
  encaps(): Map<string, Row>;
  chassisNames(): string[];
  /** Fires with the names of the chassis each Southbound change touched: every change, or (`names`) those that touched one of these chassis. */
  onTouched(listener: (names: Set<string>) => void, names?: Iterable<string>): () => void;
  /**
   * Resolves once the view is shown to hold what the Southbound holds now;
   * rejects (NOT_PROVEN) when it cannot be. A relay may keep serving old data
   * while cut off from its source, and still say it is connected (OVS 3.1):
   * it must forward a transaction to its source and bring back the answer,
   * and the updates that came before that answer are in the view by then. A
   * cluster member says for itself whether it is connected, and the client
   * leaves one that says it is not. Resolves true when it waited for an
   * answer (the view may have moved on meanwhile), false when nothing was
   * asked.
   */
  confirmCurrent(): Promise<boolean>;
  close(): void;
}

/** How long a relay has to bring back its source's answer: as long as OVS's inactivity probe waits. */
const RELAY_PROOF_TIMEOUT_MS = 5000;
const NO_ROW = '00000000-0000-0000-0000-000000000000';

/**
 * A transaction that changes nothing (it matches no row) but that a relay
 * must forward to its source, since only the source decides writes; reads
 * and comments a relay answers itself, from what it holds.
 */
async function proveRelay(client: OvsdbClient): Promise<boolean> {
  if (client.serverModel !== 'relay') return false;
  const where = client.remote ?? client.endpoint;
  try {
    await client.transact(SB, [mutate('SB_Global', [cond('_uuid', '==', uuid(NO_ROW))], [mutation('external_ids', 'delete', set(['ovn-chassis-proof']))])], { timeoutMs: RELAY_PROOF_TIMEOUT_MS });
  } catch (err) {
    throw new ControllerError('NOT_PROVEN', `the relay ${where} could not show that it reaches its Southbound now (${(err as Error).message}), so what it holds may be stale`, { cause: err });
  }
  return true;
}

/**
 * A live view of the SB's Chassis and Encap tables (a monitor, kept current
 * by the server), read from any member connected to its cluster, or a relay.
 */
export async function watchSouthbound(access: SouthboundAccess, log?: Logger): Promise<SouthboundView> {
  const client = await sbClient(access, log, false);
  const monitor = await client.monitor(SB, {
    Chassis: { columns: ['name', 'hostname', 'encaps', 'other_config', 'external_ids'] },
    Encap: { columns: ['type', 'ip', 'chassis_name'] },
  });
  const index = new SouthboundIndex();
  index.apply([...asInserts('Chassis', monitor.cache.rows('Chassis')), ...asInserts('Encap', monitor.cache.rows('Encap'))]);
  const fanout = new TouchFanout();
  monitor.on('change', (changes: RowChange[]) => {
    const touched = index.apply(changes);
    if (touched.size > 0) fanout.publish(touched);
  });
  return {
    access,
    client,
    monitor,
    chassisByName: (name) => index.chassisByName(name),
    encaps: () => index.encaps(),
    chassisNames: () => [...index.names()],
    onTouched: (listener, names) => fanout.subscribe(listener, names),
    confirmCurrent: () => proveRelay(client),
    close: () => client.close(),
  };
}

/**
 * Waits, event-driven, until every expectation holds or the timeout passes;
 * resolves with each node's final verdict (verified, missing, mismatch with
 * what the SB holds, or unproven when the data could not be shown current).
 * A node counts as verified only once the view it was read from is confirmed
 * current after it; `onVerified` fires then, as each node proves out.
 */
export function awaitVerdicts(sb: SouthboundView, exps: Expectation[], timeoutMs: number, onVerified?: (v: Verdict) => void): Promise<Verdict[]> {
  return new Promise((resolve) => {
    const board = new VerdictBoard(exps, sb);
    const names = [...new Set(exps.map((e) => e.systemId))];
    const reported = new Set<string>();
    let unprovenWhy: string | undefined;
    let proving: Promise<void> | undefined;
    let again = false;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stop();
      resolve(unprovenWhy === undefined ? board.all() : unproven(board.all(), unprovenWhy));
    };
    /** Confirms the view current, then takes the verdicts that still hold as proven. */
    const prove = (): Promise<void> => {
      if (proving) {
        again = true;
        return proving;
      }
      proving = (async () => {
        do {
          again = false;
          let waited = true;
          try {
            waited = await sb.confirmCurrent();
            unprovenWhy = undefined;
          } catch (err) {
            unprovenWhy = (err as Error).message;
          }
          // What came in while the proof was on its way is in the view now: every node is judged on it.
          // With nothing asked, the view has not moved since the last judgement (each change re-judges the nodes it touched).
          if (waited) board.reassess(names, sb);
          if (unprovenWhy !== undefined || done) continue;
          for (const v of board.all()) {
            if (v.state === 'verified' && !reported.has(v.host)) {
              reported.add(v.host);
              onVerified?.(v);
            }
          }
          if (board.allVerified()) finish();
        } while (again && !done);
        proving = undefined;
      })();
      return proving;
    };
    const stop = sb.onTouched((touched) => {
      if (board.reassess(touched, sb).length > 0) void prove();
    }, names);
    // At the deadline the verdicts are taken as they stand, once the view is confirmed (or not) one last time.
    const timer = setTimeout(() => void prove().then(finish), timeoutMs);
    // What the view holds already may be the whole answer (or there is nothing to wait for).
    void prove();
  });
}

/** Removes a stranded chassis (its Chassis and Chassis_Private rows) so a re-identified node can register; written to the cluster leader. */
export async function removeChassis(sb: SouthboundView, name: string, log?: Logger): Promise<number> {
  const leader = await sbClient(sb.access, log, true);
  try {
    const res = await leader.transact(SB, [
      remove('Chassis', [cond('name', '==', name)]),
      remove('Chassis_Private', [cond('name', '==', name)]),
    ]);
    return (res[0]?.count ?? 0) + (res[1]?.count ?? 0);
  } finally {
    leader.close();
  }
}
