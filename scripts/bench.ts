/**
 * npm run bench [-- --nodes N] [-- --json]
 *
 * Measures ovn-chassis side by side with what an operator would otherwise
 * use, on the same servers in the same run, and prints ratios (a peer's time
 * over ours: above 1 means we are faster). Absolute times depend on the
 * machine; the ratios are the result.
 */
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { OvsdbClient, cond, insert, map, mutate, namedUuid, setKeys, uuid } from '../ovsdb/index.js';
import { apply } from '../agent/apply.js';
import { OvsdbBackend } from '../agent/backends/ovsdb.js';
import { dockerExec, dockerVsctl } from '../agent/backends/docker.js';
import { localVsctl } from '../agent/backends/vsctl.js';
import { localNode } from '../agent/node.js';
import type { Backend } from '../agent/state.js';
import { type ChassisConfig, chassisConfigSchema } from '../schemas/chassis.js';
import { Dockerd, OvsdbCluster, OvsdbServer, SB_SCHEMA, spawnServer, stopPid, tempDir, Sandbox } from '../sandbox/index.js';
import { buildExecutables } from './package.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyFleet } from '../controller/fleet.js';
import { resolveFleet } from '../controller/inventory.js';
import { watchSouthbound } from '../controller/verify.js';
import { inventorySchema } from '../schemas/inventory.js';
import { createLogger } from '../common/log.js';
import { type Summary, round, summarise, timeRuns } from './lib/measure.js';
import { type ScaleRow, scaleCases, wakeupCpuMs } from './lib/scale.js';
import { vsctlSetArgs } from './lib/peers.js';
import { ansiblePlay, ensureAnsible, runPlay } from './lib/ansible.js';

const execFileP = promisify(execFile);

interface Case extends Summary {
  case: string;
  tool: string;
  nodes: number;
}

interface Ratio {
  name: string;
  value: number;
}

const argv = yargs(hideBin(process.argv))
  .option('json', { type: 'boolean', default: false, describe: 'print one JSON document' })
  .option('runs', { type: 'number', default: 1000, describe: 'samples per in-process case' })
  .option('fleet-runs', { type: 'number', default: 3, describe: 'samples per fleet case' })
  .option('nodes', { type: 'number', default: 50, describe: 'sandbox nodes for the fleet case' })
  .option('startup', { type: 'boolean', default: true, describe: 'cold start and resident memory of the single executables (--no-startup to skip)' })
  .option('sb-chassis', { type: 'number', default: 1000, describe: 'chassis in the Southbound for the reconnect + resync case' })
  .option('resync-runs', { type: 'number', default: 20, describe: 'reconnects measured per resync case' })
  .option('scale', { type: 'string', default: '50,200,1000', describe: 'fleet sizes for the scaling table (empty to skip)' })
  .option('real-controllers', { type: 'number', default: 50, describe: 'scaling sandboxes: nodes with a real ovn-controller (the rest are registered with ovn-sbctl)' })
  .strict()
  .parseSync();

const cases: Case[] = [];
const ratios: Ratio[] = [];

function record(name: string, tool: string, nodes: number, samples: number[]): Case {
  const c = { case: name, tool, nodes, ...summarise(samples) };
  cases.push(c);
  if (!argv.json) process.stderr.write(`  ${name} [${tool}]: median ${c.median_ms} ms, p99 ${c.p99_ms} ms\n`);
  return c;
}

function ratio(name: string, peer: Case, ours: Case): void {
  ratios.push({ name, value: round(peer.median_ms / ours.median_ms, 2) });
}

/** The same transaction over a bare socket: the floor any client can reach. */
async function rawRoundTrip(path: string, request: (id: number) => string): Promise<(i: number) => Promise<void>> {
  const sock = net.connect(path);
  sock.setNoDelay(true);
  await new Promise((r) => sock.once('connect', r));
  let resolve: (() => void) | undefined;
  sock.on('data', () => resolve?.());
  return (i) =>
    new Promise<void>((r) => {
      resolve = r;
      sock.write(request(i));
    });
}

async function transactCases(server: OvsdbServer): Promise<void> {
  const client = await OvsdbClient.connect({ endpoint: server.unix });
  const root = server.vsctl('get', 'Open_vSwitch', '.', '_uuid');
  const op = (i: number) => mutate('Open_vSwitch', [cond('_uuid', '==', uuid(root))], setKeys('external_ids', { 'bench-key': String(i) }));

  const raw = await rawRoundTrip(server.sockPath, (i) =>
    JSON.stringify({ method: 'transact', params: ['Open_vSwitch', op(i)], id: i }),
  );
  const rawCase = record('transact round trip, one operation', 'raw socket', 1, await timeRuns(argv.runs, 100, raw));
  const ours = record('transact round trip, one operation', 'ovn-chassis', 1,
    await timeRuns(argv.runs, 100, (i) => client.transact('Open_vSwitch', [op(i)])));
  const vsctlRuns = Math.max(20, Math.floor(argv.runs / 10));
  const vsctl = record('one external_ids change', 'ovs-vsctl', 1,
    await timeRuns(vsctlRuns, 5, (i) =>
      execFileP('ovs-vsctl', [`--db=${server.unix}`, '--no-wait', 'set', 'Open_vSwitch', '.', `external_ids:bench-key=${i}`]),
    ));
  ratio('raw socket / ovn-chassis, transact round trip', rawCase, ours);
  ratio('ovs-vsctl / ovn-chassis, one change', vsctl, ours);
  client.close();
}

/** Two configs that differ in every value, so each apply really writes. */
function alternatingConfigs(): [ChassisConfig, ChassisConfig] {
  const make = (n: number) =>
    chassisConfigSchema.parse({
      systemId: 'bench-chassis', hostname: `cmp-${n}`, ovnRemote: [`tcp:192.0.2.${n}:6642`],
      encap: { type: 'geneve', ip: `192.0.2.${10 + n}` }, bridgeMappings: { physnet1: 'br-ex' }, gateway: n === 1,
      availabilityZones: [`az${n}`], remoteProbeIntervalMs: 60000 + n,
    });
  return [make(1), make(2)];
}


async function nodeApplyCases(server: OvsdbServer, dockerd: Dockerd): Promise<void> {
  const configs = alternatingConfigs();
  const runs = Math.max(20, Math.floor(argv.runs / 10));
  const stateDir = tempDir('bench-state');
  const ours = async (name: string, backend: Backend) => {
    const c = record('one node: diff + apply a full chassis config', name, 1,
      await timeRuns(runs, 3, (i) => apply(backend, configs[i % 2] as ChassisConfig, { stateDir })));
    await backend.close();
    return c;
  };
  const native = await ours('ovn-chassis (native OVSDB)', await OvsdbBackend.connect(server.unix));
  await ours('ovn-chassis (local ovs-vsctl backend)', localVsctl('ovs-vsctl', { ...process.env, OVS_RUNDIR: server.dir }));
  const viaDocker = await ours('ovn-chassis (docker backend)', dockerVsctl('openvswitch_vswitchd', await localNode.docker(dockerd.socketPath), dockerd.socketPath));
  const vsctl = record('one node: diff + apply a full chassis config', 'ovs-vsctl set (Ansible line)', 1,
    await timeRuns(runs, 3, (i) => execFileP('ovs-vsctl', [`--db=${server.unix}`, ...vsctlSetArgs(configs[i % 2] as ChassisConfig)])));
  const dockerExec = record('one node: diff + apply a full chassis config', 'docker exec ovs-vsctl set', 1,
    await timeRuns(runs, 3, (i) => execFileP('docker', ['-H', `unix://${dockerd.socketPath}`, 'exec', 'openvswitch_vswitchd', 'ovs-vsctl', ...vsctlSetArgs(configs[i % 2] as ChassisConfig)])));
  ratio('ovs-vsctl / ovn-chassis native, one node apply', vsctl, native);
  ratio('docker exec ovs-vsctl / ovn-chassis native, one node apply', dockerExec, native);
  ratio('docker exec ovs-vsctl / ovn-chassis docker backend, one node apply', dockerExec, viaDocker);
}

async function fleetCases(n: number): Promise<void> {
  const log = createLogger('bench', 'warn');
  process.stderr.write(`fleet of ${n} sandbox nodes (real ovsdb-servers and ovn-controllers): apply + verify vs ovs-vsctl per node vs Ansible\n`);
  const sandbox = await Sandbox.start({ computes: n - Math.max(1, Math.floor(n / 10)), gateways: Math.max(1, Math.floor(n / 10)) });
  try {
    const inv = sandbox.inventory() as { defaults: Record<string, unknown> };
    // Two fleets that differ in one key, alternated so every run really writes every node.
    const fleets = [0, 1].map((k) => resolveFleet(inventorySchema.parse({ ...inv, defaults: { ...inv.defaults, remoteProbeIntervalMs: 60_000 + k } }), 'bench'));
    const fleetFor = (i: number) => fleets[i % 2] as (typeof fleets)[number];
    const sb = await watchSouthbound({ endpoints: [sandbox.sb.unix] });
    const fleetSystemIds = new Map(fleetFor(0).hosts.map((h) => [h.chassis.systemId, h.name]));
    const opts = { concurrency: 20, nodeTimeoutMs: 60_000, stateRoot: sandbox.dir, log, allowSystemIdChange: false, southbound: sb, verifyTimeoutMs: 60_000, fleetSystemIds };
    const cpu0 = process.cpuUsage();
    const rss0 = process.memoryUsage().rss;
    let peakRss = rss0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 5);
    const samples = await timeRuns(argv['fleet-runs'], 1, async (i) => {
      const res = await applyFleet(fleetFor(i).hosts, opts);
      const bad = res.filter((r) => !r.ok || r.value.verdict?.state !== 'verified');
      if (bad.length > 0) throw new Error(`fleet apply failed on ${bad.map((b) => b.host).join(', ')}`);
    });
    clearInterval(sampler);
    const cpu = process.cpuUsage(cpu0);
    sb.close();
    const ours = record('fleet converge (diff + apply + verify)', 'ovn-chassis apply', n, samples);
    const runsDone = argv['fleet-runs'] + 1;
    controllerCost = {
      cpu_ms_per_node: round((cpu.user + cpu.system) / 1000 / runsDone / n, 3),
      peak_rss_growth_kb_per_node: round((peakRss - rss0) / 1024 / n, 1),
    };

    const vsctlArgs = (node: (typeof sandbox.nodes)[number], i: number) => {
      const c = fleetFor(i).hosts.find((h) => h.name === node.name)?.chassis as ChassisConfig;
      return [`--db=${node.ovsdb.unix}`, ...vsctlSetArgs(c)];
    };
    const vsctl = record('fleet converge (diff + apply + verify)', 'ovs-vsctl per node (no verify)', n,
      await timeRuns(argv['fleet-runs'], 0, async (i) => {
        for (const node of sandbox.nodes) await execFileP('ovs-vsctl', vsctlArgs(node, i));
      }));
    ratio(`ovs-vsctl per node / ovn-chassis, fleet apply (${n} nodes)`, vsctl, ours);

    const ansible = ensureAnsible((text) => process.stderr.write(`bench: ${text}\n`));
    if (ansible) {
      const play = ansiblePlay(tempDir('bench-ansible'), fleets, sandbox.nodes);
      const ans = record('fleet converge (diff + apply + verify)', 'Ansible, local connection (no verify)', n,
        await timeRuns(1, 0, (i) => runPlay(ansible, play, i)));
      ratio(`Ansible / ovn-chassis, fleet apply (${n} nodes)`, ans, ours);
    }
  } finally {
    await sandbox.stop();
  }
}

let controllerCost: Record<string, number> | undefined;
const scale: ScaleRow[] = [];
const scaleNotes: { nodes: number; sandbox: string; verify_lag_ms: number; own_lag_ms: number }[] = [];

/**
 * A monitor of the Southbound's Chassis and Encap tables (what verification
 * watches) losing its connection to a 3-member Raft cluster holding N chassis:
 * the time from the loss until the monitor is current again on another
 * member, resuming with monitor_cond_since against downloading every row.
 */
async function resyncCases(chassis: number, runs: number): Promise<void> {
  if (!argv.json) process.stderr.write(`monitor reconnect + resync over a 3-member Raft Southbound of ${chassis} chassis\n`);
  const cluster = await OvsdbCluster.start(SB_SCHEMA, 'OVN_Southbound');
  try {
    const writer = await OvsdbClient.connect({ endpoint: cluster.tcp.join(','), database: 'OVN_Southbound', leaderOnly: true, reconnect: true });
    for (let start = 0; start < chassis; start += 250) {
      const ops = Array.from({ length: Math.min(250, chassis - start) }, (_, k) => k + start).flatMap((i) => [
        insert('Encap', { type: 'geneve', ip: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, chassis_name: `ch-${i}`, options: map({ csum: 'true' }) }, { uuidName: `e${i}` }),
        insert('Chassis', { name: `ch-${i}`, hostname: `host-${i}`, encaps: namedUuid(`e${i}`), other_config: map({ 'ovn-cms-options': '' }) }),
      ]);
      await writer.transact('OVN_Southbound', ops);
    }
    writer.close();
    const results: Record<string, Case> = {};
    for (const [tool, since] of [['monitor_cond_since', true], ['monitor_cond (full resync)', false]] as const) {
      const client = await OvsdbClient.connect({ endpoint: cluster.tcp.join(','), database: 'OVN_Southbound', reconnect: { minBackoffMs: 10, maxBackoffMs: 100 }, monitorCondSince: since });
      const m = await client.monitor('OVN_Southbound', { Chassis: { columns: ['name', 'hostname', 'encaps', 'other_config', 'external_ids'] }, Encap: { columns: ['type', 'ip', 'chassis_name'] } });
      if (m.rows('Chassis').length !== chassis) throw new Error(`the monitor holds ${m.rows('Chassis').length} chassis, not ${chassis}`);
      const samples = await timeRuns(runs, 1, async () => {
        const member = cluster.tcp.indexOf(client.remote as string);
        const back = new Promise<void>((r) => client.once('reconnected', () => r()));
        // The member drops every client connection, as on a restart: the client moves to the next member.
        cluster.members[member]?.appctl('ovsdb-server/reconnect');
        await back;
      });
      if (m.lastStart?.resumed !== since) throw new Error(`${tool}: the last restart ${m.lastStart?.resumed ? 'resumed' : 'downloaded everything'}`);
      if (m.rows('Chassis').length !== chassis) throw new Error(`after the resyncs the monitor holds ${m.rows('Chassis').length} chassis`);
      results[tool] = record(`SB monitor reconnect + resync, ${chassis} chassis`, tool, 1, samples);
      client.close();
    }
    ratio(`full resync / monitor_cond_since, monitor reconnect over ${chassis} chassis`, results['monitor_cond (full resync)'] as Case, results.monitor_cond_since as Case);
  } finally {
    await cluster.stop();
  }
}

let startupMemory: Record<string, number> | undefined;

/**
 * What a node pays to run our commands, beside Node's own start-up: cold
 * start of the bundled CLI and of the single executables (npm run package),
 * and the serving agent's resident memory at rest beside an idle Node.
 */
async function startupCases(): Promise<void> {
  if (!argv.json) process.stderr.write('cold start and resident memory, beside Node\'s own\n');
  // A server of its own: the serving agent measured here applies its config to it.
  const server = await OvsdbServer.start();
  try {
    await startupOn(server);
  } finally {
    await server.stop();
  }
}

async function startupOn(server: OvsdbServer): Promise<void> {
  const dir = tempDir('bench-pkg');
  const [controllerExe, agentExe] = (await buildExecutables(dir)) as [string, string];
  const cfg = join(dir, 'chassis.yaml');
  writeFileSync(cfg, 'systemId: bench-1\novnRemote: tcp:192.0.2.1:6642\nencap: {ip: 192.0.2.9}\n', { mode: 0o600 });
  const runs = Math.min(argv.runs, 20);
  const time = (cmd: string, args: string[]) => timeRuns(runs, 2, () => execFileP(cmd, args).catch(() => undefined));
  const node = record('cold start', 'node -e 0', 1, await time(process.execPath, ['-e', '0']));
  const help = record('cold start: ovn-chassis --help', 'single executable', 1, await time(controllerExe, ['--help']));
  const bare = record('cold start: ovn-chassis --help', 'bundle on node, no code cache', 1, await time(process.execPath, [join(dir, 'ovn-chassis.cjs'), '--help']));
  // What npm installs: bin/ runs the bundle with the V8 code cache the build keeps beside it.
  const npm = record('cold start: ovn-chassis --help', 'npm-installed bin (bundle + code cache)', 1, await time(process.execPath, [fileURLToPath(new URL('../../bin/ovn-chassis.js', import.meta.url)), '--help']));
  const diff = record('cold start: ovn-chassis-agent diff (real ovsdb-server)', 'single executable', 1, await time(agentExe, ['diff', '--config', cfg, '--db', server.unix]));
  ratio('node -e 0 / ovn-chassis --help (single executable), cold start', node, help);
  ratio('node -e 0 / ovn-chassis-agent diff (single executable), cold start', node, diff);
  ratio('node -e 0 / ovn-chassis --help (npm-installed bin, code cache), cold start', node, npm);
  ratio('node -e 0 / ovn-chassis --help (bundle without code cache), cold start', node, bare);
  // RSS counts the executable's own pages that are in memory, and how many are depends on the page
  // cache: a file just written (a build, an install) is all cached, so every page fault maps its
  // neighbours too. So each is measured hot (as built), cold (the page cache dropped, as after a
  // node's boot; root only), and as anonymous memory (its heaps and stacks, whatever the cache).
  // And it is read twice: 4 s after start, while V8 still holds start-up's garbage and the young
  // generation it grew then, and at rest, 15 s after start, once V8's memory reducer (which acts
  // when allocation has stopped for some seconds) has given them back.
  const memory = async (cmd: string, args: string[], cold: boolean): Promise<Record<'started' | 'rest', { rss: number; anon: number }>> => {
    if (cold) writeFileSync('/proc/sys/vm/drop_caches', '1\n');
    const p = spawnServer(cmd, args);
    const read = () => {
      const kb = (re: RegExp, text: string) => Number(re.exec(text)?.[1] ?? 0);
      const status = readFileSync(`/proc/${p.pid}/status`, 'utf8');
      const rollup = readFileSync(`/proc/${p.pid}/smaps_rollup`, 'utf8');
      return { rss: round(kb(/VmRSS:\s+(\d+)/, status) / 1024, 1), anon: round(kb(/Anonymous:\s+(\d+)/, rollup) / 1024, 1) };
    };
    try {
      await new Promise((r) => setTimeout(r, 4000));
      const started = read();
      await new Promise((r) => setTimeout(r, 11_000));
      return { started, rest: read() };
    } finally {
      await stopPid(p.pid);
    }
  };
  const canDrop = (() => {
    try {
      writeFileSync('/proc/sys/vm/drop_caches', '1\n');
      return true;
    } catch {
      return false;
    }
  })();
  const serve = [agentExe, ['serve', '--config', cfg, '--db', server.unix, '--state-dir', join(dir, 'state')]] as const;
  const hot = await memory(serve[0], [...serve[1]], false);
  const cold = canDrop ? await memory(serve[0], [...serve[1]], true) : undefined;
  const idleNode = await memory(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], false);
  startupMemory = {
    node_idle_rss_mb: idleNode.rest.rss,
    node_idle_anon_mb: idleNode.rest.anon,
    agent_serve_rss_mb: hot.rest.rss,
    ...(cold ? { agent_serve_rss_cold_mb: cold.rest.rss } : {}),
    agent_serve_anon_mb: hot.rest.anon,
    agent_serve_started_rss_mb: hot.started.rss,
    agent_serve_started_anon_mb: hot.started.anon,
  };
  if (!argv.json) {
    process.stderr.write(`  resident memory at rest (15 s): ovn-chassis-agent serve ${hot.rest.rss} MB (cold page cache: ${cold ? `${cold.rest.rss} MB` : 'not measured, needs root'}; anonymous ${hot.rest.anon} MB), idle node ${idleNode.rest.rss} MB (anonymous ${idleNode.rest.anon} MB)\n`);
    process.stderr.write(`  4 s after start: ovn-chassis-agent serve ${hot.started.rss} MB (cold page cache: ${cold ? `${cold.started.rss} MB` : 'not measured'}; anonymous ${hot.started.anon} MB), idle node ${idleNode.started.rss} MB\n`);
  }
}

async function main(): Promise<void> {
  const server = await OvsdbServer.start();
  let dockerd: Dockerd | undefined;
  try {
    if (argv.startup) await startupCases();
    if (!argv.json) process.stderr.write('ovsdb client vs raw socket vs ovs-vsctl, one ovsdb-server on a unix socket\n');
    await transactCases(server);
    if (!argv.json) process.stderr.write('one node, full diff + apply: native vs ovs-vsctl vs docker exec (a real dockerd)\n');
    dockerd = await Dockerd.start();
    await dockerd.buildOvsImage();
    await dockerd.startOvsContainer('openvswitch_vswitchd', tempDir('bench-ovs-run'));
    await dockerExec(await localNode.docker(dockerd.socketPath), 'openvswitch_vswitchd', ['ovs-vsctl', '--no-wait', 'init']);
    await nodeApplyCases(server, dockerd);
  } finally {
    await dockerd?.stop();
    await server.stop();
  }
  if (argv.nodes > 0) await fleetCases(argv.nodes);
  if (argv['sb-chassis'] > 0) await resyncCases(argv['sb-chassis'], argv['resync-runs']);
  const sizes = argv.scale.split(',').filter(Boolean).map(Number);
  const wakeup = sizes.length > 0 ? await wakeupCpuMs() : undefined;
  for (const n of sizes) {
    if (!argv.json) process.stderr.write(`scaling: a sandbox of ${n} nodes\n`);
    const r = await scaleCases(n, createLogger('bench', 'warn'), argv['real-controllers'], (text) => void (argv.json || process.stderr.write(`  ${text}\n`)));
    scale.push(...r.rows);
    scaleNotes.push({ nodes: n, sandbox: r.sandbox, verify_lag_ms: r.verifyLagMs, own_lag_ms: r.ownLagMs });
  }
  const memory = { peak_rss_mb: round(process.resourceUsage().maxRSS / 1024, 1), ...(controllerCost ? { controller: controllerCost } : {}), ...(startupMemory ? { startup: startupMemory } : {}) };
  if (argv.json) {
    process.stdout.write(`${JSON.stringify({ cases, ratios, memory, scale, scaleNotes, ...(wakeup !== undefined ? { wakeup_cpu_ms: wakeup } : {}), scaleRatios: scaleRatios() }, null, 2)}\n`);
    return;
  }
  const rows = cases.map((c) => [c.case, c.tool, String(c.nodes), String(c.median_ms), String(c.p99_ms), String(c.runs)]);
  printTable(['case', 'tool', 'nodes', 'median ms', 'p99 ms', 'runs'], rows);
  process.stdout.write('\n');
  printTable(['ratio (peer time / ours; above 1: we are faster)', 'value'], ratios.map((r) => [r.name, `${r.value}x`]));
  process.stdout.write(`\npeak RSS of the benchmark process: ${memory.peak_rss_mb} MB\n`);
  if (startupMemory) {
    const m = startupMemory;
    process.stdout.write(`resident memory at rest (15 s after start): ovn-chassis-agent serve (single executable) ${m.agent_serve_rss_mb} MB just built, ${m.agent_serve_rss_cold_mb ?? '(not measured)'} MB with the page cache dropped, ${m.agent_serve_anon_mb} MB anonymous; an idle node process ${m.node_idle_rss_mb} MB (${m.node_idle_anon_mb} MB anonymous); 4 s after start the agent held ${m.agent_serve_started_rss_mb} MB (${m.agent_serve_started_anon_mb} MB anonymous)\n`);
  }
  if (controllerCost) {
    process.stdout.write(`cost per node during fleet apply, the controller with each node's agent in its process (local transport; the scaling table below counts them apart): ${controllerCost.cpu_ms_per_node} ms CPU, ${controllerCost.peak_rss_growth_kb_per_node} KB peak memory growth\n`);
  }
  if (scale.length > 0) {
    process.stdout.write('\nscaling (CPU is the controller\'s for ours, with its memory (this process), and the peer\'s own for ovs-vsctl (its processes) and the raw client; agents CPU is the process that answers as each node\'s agent ("agents in-process" runs them in the controller, as direct mode does); ovsdb-servers CPU is the nodes\' databases\')\n');
    printTable(['nodes', 'operation', 'tool', 'wall ms', 'wall ms/node', 'CPU ms/node', 'agents CPU ms/node', 'ovsdb-servers CPU ms/node', 'peak RSS MB', 'config cluster CPU ms/node', 'to last applied ms'],
      scale.map((r) => [String(r.nodes), r.op, r.tool, String(r.wall_ms), String(r.wall_ms_per_node), String(r.cpu_ms_per_node), String(r.agents_cpu_ms_per_node ?? ''), String(r.servers_cpu_ms_per_node), String(r.peak_rss_mb ?? ''), String(r.cluster_cpu_ms_per_node ?? ''), String(r.applied_ms ?? '')]));
    for (const n of scaleNotes) {
      process.stdout.write(`${n.sandbox}; apply + verify returned ${n.verify_lag_ms} ms after an independent monitor saw the last chassis land as expected (below zero: before it did), ${n.own_lag_ms} ms after its own monitor heard of it\n`);
    }
    process.stdout.write(`this machine: one wake-up (a timer after a 50 ms sleep) costs ${wakeup} ms of CPU; an SSH client waits for its peer some ten times per login\n\n`);
    printTable(['scaling ratio', 'value'], scaleRatios().map((r) => [r.name, `${r.value}x`]));
  }
}

/** Per fleet size: ovs-vsctl and the raw floor against our first apply; and how flat our CPU per node stays across sizes. */
function scaleRatios(): Ratio[] {
  const out: Ratio[] = [];
  const row = (n: number, op: string, tool: string) => scale.find((r) => r.nodes === n && r.op === op && r.tool.startsWith(tool));
  for (const n of new Set(scale.map((r) => r.nodes))) {
    const ours = scale.find((r) => r.nodes === n && r.op === 'apply, first (no verify)' && r.tool === 'ovn-chassis');
    const vsctl = row(n, 'apply, first (no verify)', 'ovs-vsctl');
    const ansible = row(n, 'apply, first (no verify)', 'Ansible');
    if (ours && ansible) out.push({ name: `Ansible / ovn-chassis, first apply, ${n} nodes`, value: round(ansible.wall_ms / ours.wall_ms, 2) });
    const raw = row(n, 'apply, first (no verify)', 'raw');
    if (ours && vsctl) out.push({ name: `ovs-vsctl per node / ovn-chassis, first apply, ${n} nodes`, value: round(vsctl.wall_ms / ours.wall_ms, 2) });
    if (ours && raw) out.push({ name: `ovn-chassis / raw client floor, first apply, ${n} nodes`, value: round(ours.wall_ms / raw.wall_ms, 2) });
    // The goal of issue 21: the command over SSH, start-up included, against the controller reaching the same agents on local sockets.
    const ssh = row(n, 'apply, first (no verify)', 'ovn-chassis command over SSH');
    if (ours && ssh) out.push({ name: `CPU per node, the command over SSH / the controller on local sockets, first apply, ${n} nodes (goal at most 4.5)`, value: round(ssh.cpu_ms_per_node / ours.cpu_ms_per_node, 2) });
    // OpenSSH's connection with its start-up taken out: the SSH floor on this machine, for any client.
    const connected = row(n, 'one SSH connection per node (ssh node true)', 'OpenSSH client');
    const started = row(n, 'start-up only (ssh -V)', 'OpenSSH client');
    if (connected && started) {
      const floor = connected.cpu_ms_per_node - started.cpu_ms_per_node;
      if (ours) out.push({ name: `CPU per node, OpenSSH client's connection alone (start-up taken out) / the controller on local sockets, ${n} nodes`, value: round(floor / ours.cpu_ms_per_node, 2) });
      if (ssh) out.push({ name: `CPU per node, the ovn-chassis command over SSH (start-up included) / OpenSSH client's connection alone, ${n} nodes`, value: round(ssh.cpu_ms_per_node / floor, 2) });
    }
    const pushed = row(n, 'apply + verify', 'ovn-chassis');
    const pulled = row(n, 'publish → applied → verified', 'ovn-chassis pull mode');
    if (pushed && pulled) {
      out.push({ name: `wall, push apply + verify / pull publish → verified, ${n} nodes`, value: round(pushed.wall_ms / pulled.wall_ms, 2) });
      out.push({ name: `controller CPU per node, push apply + verify / pull publish → verified, ${n} nodes`, value: round(pushed.cpu_ms_per_node / pulled.cpu_ms_per_node, 2) });
    }
  }
  const oursEverywhere = scale.filter((r) => r.tool.startsWith('ovn-chassis'));
  for (const what of new Set(oursEverywhere.map((r) => `${r.op} [${r.tool}]`))) {
    const cpu = oursEverywhere.filter((r) => `${r.op} [${r.tool}]` === what).map((r) => r.cpu_ms_per_node);
    if (cpu.length > 1) out.push({ name: `controller CPU per node, highest / lowest across sizes: ${what}`, value: round(Math.max(...cpu) / Math.min(...cpu), 2) });
  }
  return out;
}

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd();
  process.stdout.write(`${line(head)}\n${line(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
