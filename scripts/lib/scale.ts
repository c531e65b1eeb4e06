import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { stringify } from 'yaml';
import type { Logger } from '../../common/log.js';
import { type RunOptions, applyFleet, diffFleet, statusFleet } from '../../controller/fleet.js';
import { type Fleet, resolveFleet } from '../../controller/inventory.js';
import { Journal } from '../../controller/journal.js';
import { rollout } from '../../controller/rollout.js';
import { type Expectation, type SouthboundView, awaitVerdicts, expectationOf, watchSouthbound } from '../../controller/verify.js';
import type { ChassisConfig } from '../../schemas/chassis.js';
import { inventorySchema } from '../../schemas/inventory.js';
import { agentSocketIn } from '../../agent/serving.js';
import { AgentHostProcess, PullAgentHostProcess, Sshd, childrenCpuMs, cpuMsOf, Sandbox, startConfigDb, tempDir } from '../../sandbox/index.js';
import { PullView, configText, connectConfigDb, publish } from '../../controller/config-db.js';
import { awaitApplied } from '../../controller/pull-rollout.js';
import type { OvsdbClient } from '../../ovsdb/index.js';
import { round } from './measure.js';
import { peerKeys, vsctlSetArgs } from './peers.js';
import { ansiblePlay, ensureAnsible, runPlay } from './ansible.js';

const execFileP = promisify(execFile);

/** The controller command as an operator runs it (its bundle when built). */
const CONTROLLER_BIN = fileURLToPath(new URL('../../../bin/ovn-chassis.js', import.meta.url));

/** One row of the scaling table. */
export interface ScaleRow {
  nodes: number;
  op: string;
  tool: string;
  wall_ms: number;
  wall_ms_per_node: number;
  /**
   * CPU per node of this process and the processes it ran and waited for: the
   * controller (and the agents too, in the row that runs them in-process), or
   * a peer (the ovs-vsctl processes, the raw client).
   */
  cpu_ms_per_node: number;
  /** CPU of the agents per node, in their own process as on real nodes. */
  agents_cpu_ms_per_node?: number;
  /** CPU of the nodes' ovsdb-servers per node: what the writes and reads cost the databases. */
  servers_cpu_ms_per_node: number;
  /** The highest resident memory of this process while the operation ran. */
  peak_rss_mb?: number;
  /** Pull mode: CPU of the config database's cluster members per node. */
  cluster_cpu_ms_per_node?: number;
  /** Pull mode: from publish to the last node's status row saying applied (the wall is to the last chassis proved). */
  applied_ms?: number;
}

const CONCURRENCY = 20;

// A full collection before each measured run: one that falls inside a run (tens of ms with a
// thousand nodes' objects about) would otherwise be charged to the few nodes of a small fleet.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/**
 * Runs `fn` `warmups` times to warm up (code run for the first time is not
 * yet optimised: the first fleet size would pay for it), then `runs` times,
 * measuring wall time, the CPU of this process and of the children it waited
 * for, of the agents and of the servers, and this process's peak resident memory;
 * reports the median of each (one slow run on a shared machine says little
 * about the cost per node). `fn` is told which call it is, so runs can
 * alternate what they write.
 */
async function measure(
  nodes: number, op: string, tool: string, fn: (run: number) => Promise<void | { appliedMs: number }>,
  opts: { servers: () => number; own?: boolean; runs?: number; warmups?: number; agents?: { cpuMs: () => number }; cluster?: () => number },
): Promise<ScaleRow> {
  const own = opts.own ?? true;
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  const samples: { wall: number; cpu: number; agents: number; servers: number; cluster: number; applied: number }[] = [];
  try {
    const warmups = opts.warmups ?? 1;
    for (let i = 0; i < warmups; i++) await fn(i);
    for (let i = warmups; i < warmups + (opts.runs ?? 1); i++) {
      collect();
      // The servers' CPU is read outside the timed part: a thousand /proc reads are not the controller's work.
      const servers0 = opts.servers();
      const cpu0 = process.cpuUsage();
      const children0 = childrenCpuMs();
      const agents0 = opts.agents?.cpuMs() ?? 0;
      const cluster0 = opts.cluster?.() ?? 0;
      const t0 = process.hrtime.bigint();
      const milestone = await fn(i);
      const wall = Number(process.hrtime.bigint() - t0) / 1e6;
      const own = process.cpuUsage(cpu0);
      const cpu = (own.user + own.system) / 1000 + childrenCpuMs() - children0;
      const agents = (opts.agents?.cpuMs() ?? 0) - agents0;
      samples.push({ wall, cpu, agents, servers: opts.servers() - servers0, cluster: (opts.cluster?.() ?? 0) - cluster0, applied: milestone?.appliedMs ?? 0 });
    }
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  const median = (k: 'wall' | 'cpu' | 'agents' | 'servers' | 'cluster' | 'applied') => samples.map((x) => x[k]).sort((a, b) => a - b)[Math.floor(samples.length / 2)] as number;
  return {
    nodes, op, tool, wall_ms: round(median('wall'), 1), wall_ms_per_node: round(median('wall') / nodes, 3),
    cpu_ms_per_node: round(median('cpu') / nodes, 3),
    servers_cpu_ms_per_node: round(median('servers') / nodes, 3),
    ...(own ? { peak_rss_mb: round(peak / 1048576, 1) } : {}),
    ...(opts.agents ? { agents_cpu_ms_per_node: round(median('agents') / nodes, 3) } : {}),
    ...(opts.cluster ? { cluster_cpu_ms_per_node: round(median('cluster') / nodes, 3), applied_ms: round(median('applied'), 1) } : {}),
  };
}

/** At most `n` at a time. */
async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await fn(items[next++] as T);
  }));
}


/** The floor: one bare RFC 7047 connection per node, one mutate of the same keys, no checks. */
function rawWrite(sockPath: string, keys: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(sockPath);
    const pairs = Object.entries(keys).map(([k, v]) => [k, v]);
    const req = {
      id: 1, method: 'transact',
      params: ['Open_vSwitch',
        { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['external_ids', 'delete', ['set', Object.keys(keys)]]] },
        { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['external_ids', 'insert', ['map', pairs]]] }],
    };
    sock.once('connect', () => sock.write(JSON.stringify(req)));
    sock.once('data', () => {
      sock.end();
      resolve();
    });
    sock.once('error', reject);
  });
}

/** ovs-vsctl as a role runs it: one process per node. */
function vsctlWrite(db: string, c: ChassisConfig): Promise<unknown> {
  return execFileP('ovs-vsctl', [`--db=${db}`, ...vsctlSetArgs(c)]);
}

/** How the controller reaches the nodes over SSH: one sshd stands for every node, each node's serving agent reached on its socket. */
interface SshReach {
  sshd: Sshd;
  knownHosts: string;
}

/** The two alternating fleets' inventories (see fleetsOf), reached locally or over SSH. */
function inventoriesOf(sandbox: Sandbox, ssh?: SshReach): [Record<string, unknown>, Record<string, unknown>] {
  const inv = sandbox.inventory() as { defaults: Record<string, unknown>; hosts: Record<string, Record<string, unknown>> };
  if (ssh) {
    for (const node of sandbox.nodes) {
      const t = { kind: 'ssh', user: 'root', port: ssh.sshd.port, privateKey: ssh.sshd.clientKey.key, knownHosts: ssh.knownHosts, agentSocket: agentSocketIn(node.stateDir), stateDir: node.stateDir };
      // Reached at the sshd's address; the node keeps its own encap IP.
      inv.hosts[node.name] = { ...inv.hosts[node.name], address: '127.0.0.1', encap: { ip: node.address }, transport: t };
    }
  }
  // Two fleets that differ on every node, so alternating them really writes each node; the encap type differs
  // too, so every chassis registers anew in the Southbound and verification has something to wait for.
  const make = (k: number) => ({ ...inv, defaults: { ...inv.defaults, remoteProbeIntervalMs: 60_000 + k, encap: { type: k === 0 ? 'geneve' : 'vxlan' } } });
  return [make(0), make(1)];
}

/** `ssh` to the bench's sshd as root, no user config, the host key pinned, with curve25519 and AES-GCM (what ssh2 negotiates there). */
function opensshArgs(sshd: Sshd, knownHosts: string, command: string): string[] {
  const o = ['BatchMode=yes', `UserKnownHostsFile=${knownHosts}`, 'KexAlgorithms=curve25519-sha256', 'Ciphers=aes128-gcm@openssh.com'];
  return ['-q', '-F', '/dev/null', '-i', sshd.clientKey.key, '-p', String(sshd.port), ...o.flatMap((x) => ['-o', x]), 'root@127.0.0.1', command];
}

/**
 * What one wake-up costs this process in CPU: a timer that fires after a
 * 50 ms sleep, many times (the longer the sleep, the colder the caches it
 * wakes to). An SSH client waits for its peer some ten times per login, so
 * on a machine where waking is dear, every SSH row pays for it.
 */
export async function wakeupCpuMs(times = 60, sleepMs = 50): Promise<number> {
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < times; i++) await new Promise((resolve) => setTimeout(resolve, sleepMs));
  const used = process.cpuUsage(cpu0);
  return round((used.user + used.system) / 1000 / times, 3);
}

function fleetsOf(sandbox: Sandbox): [Fleet, Fleet] {
  const [a, b] = inventoriesOf(sandbox).map((inv) => resolveFleet(inventorySchema.parse(inv), 'bench'));
  return [a as Fleet, b as Fleet];
}

/**
 * A witness for verification's lag: a second view of the Southbound, on a
 * connection of its own, judging the same expectations. Resolves with when it
 * saw each chassis stand as expected, once it has seen them all.
 */
async function witness(endpoint: string, exps: Expectation[], timeoutMs: number): Promise<{ landed: Promise<Map<string, number>>; close: () => void }> {
  const view = await watchSouthbound({ endpoints: [endpoint] });
  const at = new Map<string, number>();
  const landed = awaitVerdicts(view, exps, timeoutMs, (v) => at.set(v.systemId, performance.now())).then(() => {
    if (at.size < exps.length) throw new Error(`the witness saw ${at.size} of ${exps.length} chassis land within ${timeoutMs / 1000} s`);
    return at;
  });
  // Awaited once the apply is done; a failed apply must not leave its rejection unheard.
  landed.catch(() => undefined);
  return { landed, close: () => view.close() };
}

/**
 * The scaling table for one fleet size: diff, apply (first and no-change),
 * status and rollout through the controller, beside one ovs-vsctl process
 * per node and a bare RFC 7047 client per node doing the same writes.
 */
export async function scaleCases(n: number, log: Logger, realControllers: number, onProgress: (text: string) => void): Promise<{ rows: ScaleRow[]; verifyLagMs: number; ownLagMs: number; sandbox: string }> {
  const t0 = Date.now();
  const sandbox = await Sandbox.start({ computes: n - Math.max(1, Math.floor(n / 10)), gateways: Math.max(1, Math.floor(n / 10)), realControllers });
  const rows: ScaleRow[] = [];
  let sb: SouthboundView | undefined;
  let agents: AgentHostProcess | undefined;
  let sshd: Sshd | undefined;
  try {
    const described = `${n} nodes: ${sandbox.describeRegistration()}; started in ${round((Date.now() - t0) / 1000, 1)} s`;
    onProgress(described);
    // Each row said as soon as it is measured: a long run that fails later keeps what it measured.
    const add = (row: ScaleRow) => {
      rows.push(row);
      onProgress(`${row.op} [${row.tool}]: ${JSON.stringify(row)}`);
    };
    const [first, second] = fleetsOf(sandbox);
    const run: RunOptions = { concurrency: CONCURRENCY, nodeTimeoutMs: 120_000, stateRoot: sandbox.dir, log };
    const applyOpts = { ...run, allowSystemIdChange: false, verifyTimeoutMs: 120_000, fleetSystemIds: new Map(first.hosts.map((h) => [h.chassis.systemId, h.name])) };
    const must = <T extends { ok: boolean }>(what: string, res: T[]) => {
      const bad = res.filter((r) => !r.ok).length;
      if (bad > 0) throw new Error(`${what}: ${bad} of ${res.length} nodes failed`);
    };
    const byName = new Map(sandbox.nodes.map((x) => [x.name, x]));
    // A small fleet's run takes a few ms, where a collection or a scheduler hiccup weighs a lot: more runs,
    // and warm-ups until some 400 nodes have been done. Runs even and warm-ups odd, so the alternating ones
    // end on the fleet the next case expects.
    const runs = n <= 50 ? 8 : n <= 200 ? 4 : 2;
    const warmups = n <= 50 ? 9 : n <= 200 ? 3 : 1;
    const servers = () => sandbox.nodes.reduce((sum, x) => sum + cpuMsOf(x.ovsdb.pid), 0);
    const base = { runs, warmups, servers };

    // The nodes' own reaction (ovn-controller, the registrar) would share this machine's CPUs with what is measured.
    sandbox.pauseRegistration();
    // With each node's agent in this process (as direct mode runs it), then with the agents in a
    // process of their own answering on each node's socket, as on real nodes: the controller's cost apart.
    // Runs alternating the fleets so that every run changes every node; the in-process ones end on
    // `second`, the others on `first`, which the no-change cases then find in place.
    const alternate = (from: Fleet, to: Fleet) => async (i: number) => must('apply', await applyFleet((i % 2 === 0 ? from : to).hosts, applyOpts));
    add(await measure(n, 'apply, first (no verify)', 'ovn-chassis, agents in-process', alternate(second, first), base));
    agents = await AgentHostProcess.start(sandbox.dir, sandbox.nodes.map((x) => ({ stateDir: x.stateDir, db: x.ovsdb.unix })));
    const viaAgents = { ...base, agents };
    add(await measure(n, 'apply, first (no verify)', 'ovn-chassis', alternate(first, second), viaAgents));
    // The same first apply as an operator runs it in production: the `ovn-chassis` command (its bundle,
    // start-up included) over SSH to a real sshd, each node's agent reached on its socket through a
    // streamlocal forward. Every node is the same machine, so the precheck's hostname warnings are not logged.
    sshd = await Sshd.start();
    const knownHosts = join(sshd.dir, 'known_hosts');
    writeFileSync(knownHosts, `${sshd.knownHostsLine()}\n`);
    const viaSsh = inventoriesOf(sandbox, { sshd, knownHosts }).map((inv, k) => {
      const path = join(sandbox.dir, `ssh-${k}.yaml`);
      writeFileSync(path, stringify(inv));
      return path;
    });
    const cli = (inv: string) => execFileP(process.execPath, [CONTROLLER_BIN, 'apply', '-i', inv, '--no-verify', '--json', '--state-dir', sandbox.dir], { env: { ...process.env, OVN_CHASSIS_LOG_LEVEL: 'error' }, maxBuffer: 64 * 1024 * 1024 });
    add(await measure(n, 'apply, first (no verify)', 'ovn-chassis command over SSH', async (i) => void (await cli(viaSsh[i % 2] as string)), viaAgents));
    // The floor under any SSH push on this machine: OpenSSH's own client (C), one connection per node as a
    // shell loop makes them, with the algorithms ssh2 agrees on with this sshd, running `true`; and its
    // start-up alone (ssh -V), so that the connection's own cost can be read off. One run: nothing warms up.
    const openssh = (args: string[]) => () => pool(sandbox.nodes, CONCURRENCY, async () => void (await execFileP('ssh', args)));
    const once = { ...base, own: false, runs: 1, warmups: 0 };
    add(await measure(n, 'one SSH connection per node (ssh node true)', `OpenSSH client, ${CONCURRENCY} at a time`, openssh(opensshArgs(sshd, knownHosts, 'true')), once));
    add(await measure(n, 'start-up only (ssh -V)', `OpenSSH client, ${CONCURRENCY} at a time`, openssh(['-V']), once));
    await sshd.stop();
    sshd = undefined;
    add(await measure(n, 'apply, no change (no verify)', 'ovn-chassis', async () => must('apply', await applyFleet(first.hosts, applyOpts)), viaAgents));
    add(await measure(n, 'diff, no change', 'ovn-chassis', async () => must('diff', await diffFleet(first.hosts, run)), viaAgents));

    // The peers alternate the fleets' keys as well, so every write of theirs changes something too.
    const writeAll = (fleet: Fleet, write: (node: (typeof sandbox.nodes)[number], c: ChassisConfig) => Promise<unknown>) =>
      pool(fleet.hosts, CONCURRENCY, async (h) => void (await write(byName.get(h.name) as (typeof sandbox.nodes)[number], h.chassis)));
    add(await measure(n, 'apply, first (no verify)', `ovs-vsctl per node, ${CONCURRENCY} at a time`, (i) => writeAll(i % 2 === 0 ? second : first, (node, c) => vsctlWrite(node.ovsdb.unix, c)), { ...base, own: false }));
    add(await measure(n, 'apply, first (no verify)', 'raw RFC 7047 client per node (floor)', (i) => writeAll(i % 2 === 0 ? first : second, (node, c) => rawWrite(node.ovsdb.sockPath, peerKeys(c))), { ...base, own: false }));
    // Ansible as kolla-ansible sets these keys, as many hosts at a time as ours: one run, as it takes minutes at 1000.
    const ansible = ensureAnsible(onProgress);
    if (ansible) {
      const play = ansiblePlay(tempDir('bench-ansible'), [first, second], sandbox.nodes);
      add(await measure(n, 'apply, first (no verify)', `Ansible, local connection, ${CONCURRENCY} forks`, (i) => runPlay(ansible, play, i, CONCURRENCY), once));
    }

    sandbox.resumeRegistration();
    sb = await watchSouthbound({ endpoints: sandbox.southboundEndpoints }, log);
    const verifyWith = (fleet: Fleet) => async () => must('apply + verify', await applyFleet(fleet.hosts, { ...applyOpts, southbound: sb as SouthboundView }));
    add(await measure(n, 'apply + verify', 'ovn-chassis', (i) => verifyWith(i % 2 === 0 ? second : first)(), viaAgents));
    // Verification's lag, in a run of its own: the witness, a second monitor, is not the controller's work.
    const seen = await witness(sandbox.southboundEndpoints[0] as string, first.hosts.map((h) => expectationOf(h.name, h.chassis)), 30_000);
    // When our own verification monitor last heard of a change: from there to the verdict is our work alone.
    let lastHeard = 0;
    const stopHearing = sb.onTouched(() => void (lastHeard = performance.now()));
    let returned = 0;
    let landed: Map<string, number>;
    try {
      await verifyWith(first)();
      returned = performance.now();
      landed = await seen.landed;
    } finally {
      seen.close();
      stopHearing();
    }
    // Every node is counted verified before the apply returns: this bounds the last node's lag from above
    // (below zero: ours proved it before the witness saw it).
    const lastLanding = Math.max(...landed.values());
    add(await measure(n, 'status', 'ovn-chassis', async () => must('status', await statusFleet(first.hosts, run, sb as SouthboundView)), viaAgents));
    // Each run its own rollout, alternating the fleets so every run changes every node. A failed one is
    // said with its nodes' reasons, and the table goes on without its row.
    try {
      add(await measure(n, 'rollout (batches of 10%, verify)', 'ovn-chassis', async (i) => {
        const journal = Journal.open(join(sandbox.dir, `rollout-${i}.journal`), false);
        try {
          const outcome = await rollout(i % 2 === 0 ? second : first, journal, sb as SouthboundView, {
            batch: '10%', canary: 0, maxFailures: 0, pauseS: 0, verifyTimeoutS: 120, run, log,
            onPlan: () => undefined, onEvent: () => undefined, stopRequested: () => false,
          });
          const failures = journal.records.flatMap((r) => (r.type === 'step' && r.phase === 'end' && r.ok === false ? [`${r.host} ${r.step}: ${r.error ?? ''}`] : []));
          if (outcome !== 'done') throw new Error(`rollout ${outcome}: ${failures.length} failed steps, first ${failures.slice(0, 3).join('; ')}`);
        } finally {
          await journal.close();
        }
      }, { ...viaAgents, runs: 2 }));
    } catch (err) {
      onProgress(`rollout (batches of 10%, verify): ${(err as Error).message}; no row`);
    }
    await agents.stop();
    agents = undefined;
    // The rollout runs left `second` in place: pull mode starts with `first`, so every publish changes every node.
    add(await pullCase(sandbox, [first, second], sb, base, log));
    return { rows, verifyLagMs: round(returned - lastLanding, 1), ownLagMs: round(returned - lastHeard, 1), sandbox: described };
  } finally {
    sb?.close();
    await sshd?.stop();
    await agents?.stop();
    await sandbox.stop();
  }
}


/**
 * Pull mode at this size: a 3-member config database cluster, every node's
 * pulling agent (one process holding a session per node, each with its own
 * node ovsdb-server), and the controller publishing the whole fleet in one
 * transaction. Measured: from publish to the last status row applied, and to
 * the last chassis proved in the Southbound; the controller's, the agents',
 * the cluster members' and the nodes' databases' CPU.
 */
async function pullCase(sandbox: Sandbox, fleets: [Fleet, Fleet], sb: SouthboundView, base: { runs: number; warmups: number; servers: () => number }, log: Logger): Promise<ScaleRow> {
  const cluster = await startConfigDb();
  let agents: PullAgentHostProcess | undefined;
  let client: OvsdbClient | undefined;
  try {
    agents = await PullAgentHostProcess.start(sandbox.dir, cluster.tcp, sandbox.nodes.map((x) => ({ name: x.name, stateDir: x.stateDir, db: x.ovsdb.unix })));
    client = await connectConfigDb({ ...fleets[0].inventory, configDb: cluster.tcp }, log);
    const view = await PullView.watch(client);
    const members = () => cluster.members.reduce((sum, m) => sum + cpuMsOf(m.pid), 0);
    const n = sandbox.nodes.length;
    return await measure(n, 'publish → applied → verified', `ovn-chassis pull mode (${n} agents in one process, 3-member cluster)`, async (i) => {
      const fleet = fleets[i % 2] as Fleet;
      const t0 = performance.now();
      const steps = await publish(client as OvsdbClient, fleet.hosts.map((h) => ({ host: h.name, config: configText(h.chassis) })));
      const applied = await awaitApplied(view, new Map(steps.map((s) => [s.host, s.generation])), 120_000, () => undefined);
      const notApplied = [...applied.values()].filter((s) => s.state !== 'applied').length;
      if (notApplied > 0) throw new Error(`pull mode: ${notApplied} of ${n} agents did not report their generation applied`);
      const appliedMs = performance.now() - t0;
      const verdicts = await awaitVerdicts(sb, fleet.hosts.map((h) => expectationOf(h.name, h.chassis)), 120_000);
      const unverified = verdicts.filter((v) => v.state !== 'verified').length;
      if (unverified > 0) throw new Error(`pull mode: ${unverified} of ${n} chassis not proved in the Southbound`);
      return { appliedMs };
    }, { ...base, agents, cluster: members });
  } finally {
    client?.close();
    await agents?.stop();
    await cluster.stop();
  }
}
