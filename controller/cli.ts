import { existsSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import yargs, { type Argv } from 'yargs';
import { LOG_JSON_FLAG, createLogger, logFormat } from '../common/log.js';
import { printable } from '../common/text.js';
import { DEFAULT_STATE_DIR } from '../agent/index.js';
import { asList } from '../schemas/chassis.js';
import { ConfigError } from '../schemas/errors.js';
import { ControllerError, changeOf } from './errors.js';
import { type NodeResult, type RunOptions, applyFleet, diffFleet, fleetExit, forEachHost, forEachNode, resolveOnNodes, statusFleet } from './fleet.js';
import { namedIps } from '../schemas/keys.js';
import { type AgentInstallResult, type AgentStatus, agentStatus, describeAgent, describeInstall, installAgent, removeAgent } from './agents.js';
import { batchSize } from './plan.js';
import { importFleet, importedInventory } from './import.js';
import { loadConfigFile } from '../schemas/load.js';
import { tunnelZoneSchema } from '../schemas/inventory.js';
import { type Fleet, type Host, loadFleet } from './inventory.js';
import { limitHosts } from './limit.js';
import { Progress } from './progress.js';
import { failed, formatAgents, formatApply, formatDiff, formatFindings, formatStatus } from './report.js';
import { PROTOCOL_VERSION } from '../schemas/rpc.js';
import { AGENT_IMAGE, VERSION, formatVersion, versionInfo } from '../schemas/version.js';
import { validateFleet } from './validate.js';
import { southboundAccess, watchSouthbound, type SouthboundView } from './verify.js';
import { Journal } from './journal.js';
import { rollbackFleet } from './rollback.js';
import { formatProbes, startProbes } from './probes.js';

import { vifsByHost } from './workloads.js';
import { connectNorthbound } from './gateways.js';
import { checkNode, fleetProblems } from './preflight.js';
import { loadPlan, savePlan } from './saved-plan.js';
import { planRollout } from './plan.js';
import { plannedOf } from '../schemas/saved-plan.js';
import { closest } from '../common/text.js';
import { createInterface } from 'node:readline/promises';
import { loadBindings } from '../schemas/vifs.js';
import { formatHooks, formatReport, report, rollout } from './rollout.js';

/** How long probes may take to answer again after the last node (a VM's path comes back within a second or two). */
const PROBE_SETTLE_MS = 10_000;

export const EXIT = { OK: 0, ERROR: 1, CHANGES: 2, PARTIAL: 3 } as const;

const COMMANDS = ['validate', 'render', 'diff', 'apply', 'status', 'rollout', 'rollback', 'import', 'agent'];

const EXIT_STATUS = `Exit status:
  0  done, or nothing to change
  1  an error, and no node was changed
  2  changes found (diff, status) or versions skewed (agent status)
  3  partial: some nodes failed, or a node was (or may have been) changed before an error; each is named`;

/** Each command's examples, shown in its --help. */
const EXAMPLES: Record<string, [string, string][]> = {
  validate: [['$0 validate -i inventory.yaml', 'check the inventory and the fleet as a whole (duplicate ids, IPs, hostnames)']],
  render: [['$0 render -i inventory.yaml --limit cmp-1', 'the chassis config cmp-1 gets from defaults, its groups and its own fields']],
  diff: [
    ['$0 diff -i inventory.yaml', 'what apply would change on every node (exit 2 when something would)'],
    ['$0 diff -i inventory.yaml --limit compute -o change-42.plan', 'save the plan for review, then apply exactly it'],
  ],
  apply: [
    ['$0 apply -i inventory.yaml --limit cmp-1', 'apply one node and prove its chassis in the Southbound (asks first at a terminal)'],
    ['$0 apply -i inventory.yaml --plan change-42.plan', 'apply exactly a reviewed plan; a node changed since is refused untouched'],
  ],
  status: [['$0 status -i inventory.yaml', 'per node: in sync or drifted, registered or not; and stale chassis']],
  rollout: [
    ['$0 rollout -i inventory.yaml --batch 10% --canary 1 --bindings ports.json', 'migrate in batches, moving each VM\'s tap onto br-int'],
    ['$0 rollout -i inventory.yaml --batch 10% --preflight-only', 'every node\'s pre-flight checks; nothing is changed'],
    ['$0 rollout -i inventory.yaml --batch 10% --resume', 'continue the rollout the journal records'],
  ],
  rollback: [['$0 rollback -i inventory.yaml --limit cmp-7 --journal ovn-chassis-rollout.journal', 'put cmp-7 back as it was before the rollout']],
  agent: [
    ['$0 agent install -i inventory.yaml --limit compute', 'install the agent on the compute nodes'],
    ['$0 agent status -i inventory.yaml', 'each node\'s agent version and state, and version skew'],
  ],
  import: [['$0 import -i inventory.yaml -o adopted.yaml --from-midonet --tunnel-zone tz.yaml', 'adopt a running MidoNet cloud without changing it']],
};

function common<T>(y: Argv<T>, command?: string) {
  for (const [cmd, what] of (command && EXAMPLES[command]) || []) y.example(cmd, what);
  return y
    .epilog(EXIT_STATUS)
    .option('inventory', { alias: 'i', type: 'string', demandOption: true, describe: 'inventory file (YAML)' })
    .option('json', { type: 'boolean', default: false, describe: 'machine-readable output on stdout' });
}

function fleetOpts<T>(y: Argv<T>, command?: string) {
  return common(y, command)
    .option('limit', { alias: 'l', type: 'string', describe: 'hosts, groups or globs (a,b or a:b; !x excludes, &x intersects)' })
    .option('concurrency', { type: 'number', default: 20, describe: 'nodes worked on at once' })
    .option('timeout', { type: 'number', default: 120, describe: 'seconds one node may take' })
    .option('state-dir', { type: 'string', default: DEFAULT_STATE_DIR, describe: 'state of in-process (local transport) agents' })
    .option('yes', { type: 'boolean', default: false, describe: 'do not ask before changing nodes (asked only at a terminal)' });
}

/**
 * At a terminal, says what the command will do and asks; `--yes`, or no
 * terminal (a script, cron, CI), goes on without asking, as before.
 */
async function confirmed(a: { yes: boolean }, what: string): Promise<boolean> {
  if (a.yes || !process.stdin.isTTY || !process.stderr.isTTY) return true;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${what.split('\n').map(printable).join('\n')}\n\nDo you want to go on? Only 'yes' will be accepted (--yes skips this question): `);
    return answer.trim() === 'yes';
  } finally {
    rl.close();
  }
}

/** Help as wide as the terminal (up to 120 columns); unwrapped when it goes to a file or a pipe. */
export function helpWidth(): number | null {
  return process.stdout.isTTY && process.stdout.columns ? Math.min(120, process.stdout.columns) : null;
}

/** yargs' complaint about the command line, with what a mistyped flag or command most likely meant. */
export function usageProblem(msg: string, y: unknown, commands: string[] = []): string {
  const m = /^Unknown arguments?: (.*)$/.exec(msg);
  if (!m) return msg;
  // yargs has the options it knows at run time; its typings do not say so.
  const options = (y as unknown as { getOptions(): { key: Record<string, unknown> } }).getOptions().key;
  const known = Object.keys(options).filter((k) => k.length > 1 && k !== '$0');
  const hints = (m[1] as string).split(', ').filter((w) => w.length > 1).flatMap((word) => {
    const meant = closest(word, [...known, ...commands]);
    return meant ? [`${word.length > 1 && !commands.includes(meant) ? '--' : ''}${word}: did you mean ${commands.includes(meant) ? meant : `--${meant}`}?`] : [];
  });
  return hints.length > 0 ? `${msg}\n${hints.join('\n')}` : msg;
}

/** What a "no" at the prompt ends with. */
const cancelled = () => new ControllerError('CANCELLED', 'cancelled at the prompt: nothing was changed');

const log = createLogger('ovn-chassis');

function selected(fleet: Fleet, limit: string | undefined): Host[] {
  const hosts = limitHosts(fleet.hosts, limit);
  if (hosts.length === 0) throw new ControllerError('INVALID_INVENTORY', `--limit ${limit} matches no host of ${fleet.source}`);
  return hosts;
}

function runOpts(a: { concurrency: number; timeout: number; 'state-dir': string }): RunOptions {
  if (!(a.concurrency >= 1)) throw new ControllerError('INVALID_CONFIG', `--concurrency ${a.concurrency} must be at least 1`);
  if (!(a.timeout > 0)) throw new ControllerError('INVALID_CONFIG', `--timeout ${a.timeout} must be above 0`);
  return { concurrency: Math.floor(a.concurrency), nodeTimeoutMs: a.timeout * 1000, stateRoot: a['state-dir'], log };
}

/** Fleet-wide errors (duplicate ids or encap IPs…) stop a write before any node is touched. */
function refuseInvalid(fleet: Fleet): void {
  const errors = validateFleet(fleet).filter((f) => f.level === 'error');
  if (errors.length > 0) {
    throw new ControllerError('INVALID_INVENTORY', `${fleet.source} has fleet-wide errors; nothing was changed:\n  ${errors.map((e) => e.message).join('\n  ')}`);
  }
}

async function southbound(fleet: Fleet, what: string): Promise<SouthboundView> {
  try {
    return await watchSouthbound(southboundAccess(fleet.inventory), log);
  } catch (err) {
    throw new ControllerError('UNREACHABLE', `cannot reach the Southbound DB (${asList(fleet.inventory.ovn.southbound).join(',')}) to ${what}: ${(err as Error).message}; nothing was changed`);
  }
}

/** rollout --preflight-only: each selected node's checks, as its precheck step would run them; nothing is changed. */
async function preflightOnly(fleet: Fleet, a: { limit?: string | undefined; json: boolean } & Parameters<typeof runOpts>[0]): Promise<number> {
  const hosts = selected(fleet, a.limit);
  const across = fleetProblems(fleet.hosts);
  const sb = await southbound(fleet, 'read the other chassis\' tunnel endpoints');
  try {
    const results = await forEachNode(hosts, runOpts(a), new Progress('pre-flight', hosts.length, log), () => 'passed', (host, agent) => checkNode(host, agent, sb, log, across.get(host.name)));
    print(a, view(results), results.map((r) => (r.ok ? `${r.host}: ${r.value}` : `${r.host}: ${failed(r)}`)).join('\n'));
    return fleetExit(results, EXIT.OK);
  } finally {
    sb.close();
  }
}

/** Every inventory host's system-id → its name. */
function systemIdsOf(fleet: Fleet): Map<string, string> {
  return new Map(fleet.hosts.map((h) => [h.chassis.systemId, h.name]));
}

/** A result on stdout: JSON, or text whose every line is shown, never obeyed (a node's words are in it). */
function print(a: { json: boolean }, value: unknown, human: string): void {
  process.stdout.write(a.json ? `${JSON.stringify(value, null, 2)}\n` : `${human.split('\n').map(printable).join('\n')}\n`);
}

const view = <T>(results: NodeResult<T>[]) => results.map((r) => (r.ok ? { host: r.host, ok: true, ms: r.ms, ...r.value } : r));

export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.OK;
  const json = argv.includes('--json');
  if (argv.includes('--version') && !argv.slice(0, argv.indexOf('--version')).includes('--')) {
    const v = versionInfo('ovn-chassis', PROTOCOL_VERSION);
    process.stdout.write(`${json ? JSON.stringify(v, null, 2) : formatVersion(v)}\n`);
    return 0;
  }
  const parser = yargs(argv)
    .scriptName('ovn-chassis')
    .strict()
    .demandCommand(1, 'name a command: validate, render, diff, apply, status, rollout, rollback, import or agent')
    .command('validate', 'check the inventory and the fleet as a whole', (y) => common(y, 'validate'), (a) => {
      const fleet = loadFleet(a.inventory);
      const findings = validateFleet(fleet);
      print(a, { hosts: fleet.hosts.length, findings }, formatFindings(fleet.source, fleet.hosts.length, findings));
      code = findings.some((f) => f.level === 'error') ? EXIT.ERROR : EXIT.OK;
    })
    .command('render', 'show each host\'s resulting chassis config', (y) =>
      fleetOpts(y, 'render').option('resolve', { type: 'boolean', default: false, describe: 'ask each node what it resolves (an encap IP given as an interface or a network)' }),
    async (a) => {
      const fleet = loadFleet(a.inventory);
      const hosts = selected(fleet, a.limit);
      const resolved = a.resolve ? await resolveOnNodes(hosts.filter((h) => !namedIps(h.chassis.encap.ip)), runOpts(a)) : new Map<string, string[]>();
      const config = (h: Host) => (resolved.has(h.name) ? { ...h.chassis, encap: { ...h.chassis.encap, ip: resolved.get(h.name) } } : h.chassis);
      const out = Object.fromEntries(hosts.map((h) => [h.name, { address: h.address, groups: h.groups, transport: h.transport.kind, agent: h.agent, config: config(h) }]));
      print(a, out, stringify(Object.fromEntries(hosts.map((h) => [h.name, config(h)]))).trimEnd());
    })
    .command('diff', 'show what apply would change on each node', (y) =>
      fleetOpts(y, 'diff')
        .option('allow-system-id-change', { type: 'boolean', default: false, describe: 'plan new system-ids instead of refusing them (a new id makes a new chassis)' })
        .option('out', { alias: 'o', type: 'string', describe: 'save the plan (each node\'s changes and the values it holds) for apply --plan' }),
    async (a) => {
      const fleet = loadFleet(a.inventory);
      const hosts = selected(fleet, a.limit);
      const results = await diffFleet(hosts, runOpts(a), a['allow-system-id-change']);
      if (a.out) savePlan(a.out, fleet, hosts, results);
      print(a, view(results), `${formatDiff(results)}${a.out ? `\n\nPlan saved to ${a.out}: apply exactly it with ovn-chassis apply -i ${fleet.source} --plan ${a.out}` : ''}`);
      const changes = results.some((r) => r.ok && !r.value.plan.inSync);
      code = fleetExit(results, changes ? EXIT.CHANGES : EXIT.OK);
    })
    .command('apply', 'apply each node\'s config and prove it in the Southbound DB', (y) =>
      fleetOpts(y, 'apply')
        .option('verify', { type: 'boolean', default: true, describe: 'prove each chassis in the Southbound DB (--no-verify to skip)' })
        .option('verify-timeout', { type: 'number', default: 60, describe: 'seconds to wait for the Southbound DB to show every chassis' })
        .option('allow-system-id-change', { type: 'boolean', default: false, describe: 'allow new system-ids; the stranded chassis are removed from the SB' })
        .option('plan', { type: 'string', describe: 'apply exactly this saved plan (diff -o): a node that changed since is refused, untouched' })
        .option('plan-max-age', { type: 'number', default: 24, describe: 'hours after which a saved plan is refused' }),
    async (a) => {
      const fleet = loadFleet(a.inventory);
      refuseInvalid(fleet);
      if (a.plan && a.limit) throw new ControllerError('INVALID_CONFIG', '--plan names its own hosts; give no --limit with it');
      const saved = a.plan ? loadPlan(a.plan, fleet, a['plan-max-age']) : undefined;
      const hosts = saved ? saved.hosts : selected(fleet, a.limit);
      let planned = saved?.planned;
      if (saved) {
        const n = saved.plan.nodes.filter((x) => x.changes.length > 0);
        if (!(await confirmed(a, `The plan ${a.plan} (made ${saved.plan.createdAt}) changes ${n.length} of ${hosts.length} nodes: ${n.map((x) => `${x.host} (${x.changes.length})`).join(', ')}.`))) throw cancelled();
      } else if (!a.yes && process.stdin.isTTY && process.stderr.isTTY) {
        // What is shown is what is applied: each node's write holds only while it still is what the diff read.
        const shown = await diffFleet(hosts, runOpts(a), a['allow-system-id-change']);
        if (!(await confirmed(a, formatDiff(shown)))) throw cancelled();
        planned = new Map(shown.flatMap((r) => (r.ok ? [[r.host, plannedOf(r.value.plan.changes)] as const] : [])));
      }
      const sb = a.verify ? await southbound(fleet, 'verify the result') : undefined;
      try {
        const results = await applyFleet(hosts, {
          ...runOpts(a), allowSystemIdChange: a['allow-system-id-change'], verifyTimeoutMs: a['verify-timeout'] * 1000,
          fleetSystemIds: systemIdsOf(fleet), ...(sb ? { southbound: sb } : {}), ...(planned ? { planned } : {}),
        });
        print(a, view(results), formatApply(results, a.verify));
        code = fleetExit(results, EXIT.OK);
      } finally {
        sb?.close();
      }
    })
    .command('status', 'per node: in sync or drifted, and registered in the Southbound DB', (y) => fleetOpts(y, 'status'), async (a) => {
      const fleet = loadFleet(a.inventory);
      const hosts = selected(fleet, a.limit);
      // The Southbound down is no reason to hide the nodes: each is shown, its registration unproven with why.
      const sb = await southbound(fleet, 'check registration').catch((err: Error) => err.message);
      try {
        const results = await statusFleet(hosts, runOpts(a), typeof sb === 'string' ? 'the Southbound DB could not be reached' : sb);
        const claimed = new Set(fleet.hosts.map((h) => h.chassis.systemId));
        const stale = typeof sb === 'string' ? [] : sb.chassisNames().filter((n) => !claimed.has(n)).sort();
        print(a, { nodes: view(results), staleChassis: stale, ...(typeof sb === 'string' ? { error: { code: 'UNREACHABLE', message: sb } } : {}) }, formatStatus(results, stale));
        if (typeof sb === 'string') {
          process.stderr.write(`ovn-chassis: ${printable(sb)}\n`);
          code = EXIT.ERROR;
          return;
        }
        const clean = results.every((r) => r.ok && r.value.plan.inSync && r.value.verdict.state === 'verified') && stale.length === 0;
        code = fleetExit(results, clean ? EXIT.OK : EXIT.CHANGES);
      } finally {
        if (typeof sb !== 'string') sb.close();
      }
    })
    .command('rollout', 'migrate the fleet in batches, journaled, each node proved before the next batch', (y) =>
      fleetOpts(y, 'rollout')
        .option('batch', {
          type: 'string', demandOption: true, describe: 'nodes per batch: N or P%',
          coerce: (v: unknown) => {
            if (Array.isArray(v)) throw new ControllerError('INVALID_CONFIG', `--batch is given ${v.length} times (${v.join(', ')}); give it once`);
            return String(v);
          },
        })
        .option('batch-by', { type: 'string', describe: 'keep hosts sharing this value together: a vars key, "group", or a chassis field' })
        .option('canary', { type: 'number', default: 0, describe: 'nodes in a first batch that must fully succeed' })
        .option('max-failures', { type: 'number', default: 0, describe: 'failed nodes a batch may have before the rollout stops' })
        .option('pause', { type: 'number', default: 0, describe: 'seconds between batches' })
        .option('verify-timeout', { type: 'number', default: 60, describe: 'seconds a node has to show its chassis and VIFs in the Southbound DB' })
        .option('journal', { type: 'string', default: 'ovn-chassis-rollout.journal', describe: 'the crash-safe record of every step' })
        .option('resume', { type: 'boolean', default: false, describe: 'continue the rollout the journal records' })
        .option('plan-only', { type: 'boolean', default: false, describe: 'print the batches and each node\'s changes, and change nothing (with -o, save them for --plan)' })
        .option('out', { alias: 'o', type: 'string', describe: 'with --plan-only: save the rollout\'s plan for review and rollout --plan' })
        .option('plan', { type: 'string', describe: 'run exactly this saved rollout plan: its batches, each node\'s apply guarded by the values it recorded' })
        .option('plan-max-age', { type: 'number', default: 24, describe: 'hours after which a saved plan is refused' })
        .option('preflight-only', { type: 'boolean', default: false, describe: 'run every selected node\'s pre-flight checks (and the fleet-wide ones) and change nothing' })
        .option('drain', { type: 'boolean', default: true, describe: 'move a gateway\'s router ports to the other gateways before its hooks, and back after it verifies (--no-drain: do not)' })
        .option('bindings', { type: 'string', describe: 'the VM ports to move onto br-int, per host (openstack port show -f json output, or {port, mac, vm, host, tap})' }),
    async (a) => {
      if (!Number.isInteger(a['max-failures']) || a['max-failures'] < 0) throw new ControllerError('INVALID_CONFIG', `--max-failures ${a['max-failures']}: expected 0 or more`);
      if (!(a.pause >= 0)) throw new ControllerError('INVALID_CONFIG', `--pause ${a.pause}: expected 0 or more seconds`);
      const fleet = loadFleet(a.inventory);
      refuseInvalid(fleet);
      const vifs = a.bindings ? vifsByHost(loadBindings(a.bindings), fleet.hosts, a.bindings) : undefined;
      if (a['preflight-only']) {
        code = await preflightOnly(fleet, a);
        return;
      }
      if (a['plan-only']) {
        const hosts = selected(fleet, a.limit);
        const batches = planRollout(hosts, { batch: a.batch, canary: a.canary, ...(a['batch-by'] ? { batchBy: a['batch-by'] } : {}), order: fleet.inventory.rollout?.order }).map((b) => b.map((h) => h.name));
        const results = await diffFleet(hosts, runOpts(a), false);
        if (a.out) savePlan(a.out, fleet, hosts, results, batches);
        const lines = [...batches.map((b, i) => `batch ${i + 1}${i === 0 && a.canary ? ' (canary)' : ''}: ${b.join(', ')}`), '', formatDiff(results), ...(a.out ? ['', `Plan saved to ${a.out}: run exactly it with ovn-chassis rollout -i ${fleet.source} --batch ${a.batch} --plan ${a.out}`] : [])];
        print(a, { batches, nodes: view(results) }, lines.join('\n'));
        code = fleetExit(results, results.some((r) => r.ok && !r.value.plan.inSync) ? EXIT.CHANGES : EXIT.OK);
        return;
      }
      if (a.plan && a.limit) throw new ControllerError('INVALID_CONFIG', '--plan names its own hosts; give no --limit with it');
      const loaded = a.plan ? loadPlan(a.plan, fleet, a['plan-max-age']) : undefined;
      if (loaded && !loaded.plan.batches) throw new ControllerError('REFUSED', `plan ${a.plan} has no batches (diff -o made it): make a rollout plan with rollout --plan-only -o; nothing was changed`);
      const journal = Journal.open(a.journal, a.resume);
      let stop = false;
      const onSignal = () => {
        if (stop) process.exit(130);
        stop = true;
        process.stderr.write('ovn-chassis: stopping after the batch in flight (again to abort at once; --resume continues)\n');
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const sb = await southbound(fleet, 'verify each node');
        const nb = a.drain && fleet.hosts.some((h) => h.chassis.gateway) ? await connectNorthbound(fleet.inventory).catch((err) => {
          sb.close();
          throw err;
        }) : undefined;
        const probes = startProbes(fleet.inventory.rollout?.probes ?? []);
        try {
          const outcome = await rollout(fleet, journal, sb, {
            ...(vifs ? { vifs } : {}),
            ...(loaded?.plan.batches ? { saved: { batches: loaded.plan.batches, planned: loaded.planned } } : {}),
            ...(nb ? { nb } : {}),
            drain: a.drain,
            batch: a.batch, canary: a.canary, ...(a['batch-by'] ? { batchBy: a['batch-by'] } : {}), ...(a.limit ? { limit: a.limit } : {}),
            maxFailures: a['max-failures'], pauseS: a.pause, verifyTimeoutS: a['verify-timeout'], run: runOpts(a), log,
            onPlan: (batches, resumed, hooks) => {
              if (a.json) return;
              const hookLines = formatHooks(hooks);
              const lines = [
                `${resumed ? 'Resuming the plan in' : 'Plan:'} ${journal.path}`,
                ...batches.map((b, i) => `  batch ${i + 1}${i === 0 && a.canary ? ' (canary)' : ''}: ${b.join(', ')}`),
                ...(hookLines.length > 0 ? ['Hooks (defaults, then each group in order, then the host\'s own):', ...hookLines] : []),
              ];
              process.stdout.write(`${lines.map(printable).join('\n')}\n\n`);
            },
            onEvent: (text) => {
              if (logFormat() === 'text') process.stderr.write(`${printable(text)}\n`);
              else log.info({ op: 'rollout' }, text.trim());
            },
            stopRequested: () => stop,
            confirm: () => confirmed(a, 'The rollout above will change the nodes of each batch in turn.'),
          });
          const hosts = journal.records.flatMap((r) => (r.type === 'start' ? r.batches.flat() : []));
          const nodes = report(journal.records, hosts);
          const measured = await probes.stop(PROBE_SETTLE_MS);
          const table = formatProbes(measured);
          print(a, { outcome, journal: journal.path, nodes, probes: measured }, `${formatReport(nodes)}${table.length ? `\n\nData plane during this run:\n${table.join('\n')}` : ''}\nrollout ${outcome}`);
          code = outcome === 'done' ? EXIT.OK : EXIT.PARTIAL;
        } finally {
          await probes.stop();
          nb?.close();
          sb.close();
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await journal.close();
      }
    })
    .command('rollback', 'restore nodes\' previous configuration, run their rollback hooks, check the result', (y) =>
      fleetOpts(y, 'rollback').option('journal', { type: 'string', describe: 'take each node\'s previous values from this rollout journal (default: the agent\'s own snapshot)' }),
    async (a) => {
      if (!a.limit) throw new ControllerError('INVALID_CONFIG', 'rollback needs --limit naming the nodes to roll back');
      const fleet = loadFleet(a.inventory);
      const hosts = selected(fleet, a.limit);
      if (!(await confirmed(a, `Rolling back ${hosts.length} node${hosts.length === 1 ? '' : 's'}: ${hosts.map((h) => h.name).join(', ')}.`))) throw cancelled();
      const journal = a.journal ? Journal.open(a.journal, true) : undefined;
      const history = journal?.history;
      const nb = hosts.some((h) => history?.get(h.name)?.drained) ? await connectNorthbound(fleet.inventory) : undefined;
      try {
        const results = await rollbackFleet(hosts, runOpts(a), journal, nb);
        print(a, view(results), results.map((r) => (r.ok ? `${r.host}: restored ${Object.keys(r.value.restored).length} keys from the ${r.value.source}${r.value.unplugged ? `, put ${r.value.unplugged} VIFs back on their old bridges` : ''}, ran ${r.value.hooks} rollback hooks, checked` : `${r.host}: ${failed(r)}`)).join('\n'));
        code = fleetExit(results, EXIT.OK);
      } finally {
        nb?.close();
        await journal?.close();
      }
    })
    .command('agent <action>', 'the node agents: install, upgrade (in batches), status (versions, skew), remove', (y) =>
      fleetOpts(y, 'agent')
        .positional('action', { choices: ['install', 'upgrade', 'status', 'remove'] as const, describe: 'what to do' })
        .option('image', { type: 'string', describe: `the agent image to install (default ${AGENT_IMAGE}; taken from DOCKER_HOST when a node lacks it)` })
        .option('batch', { type: 'string', default: '1', describe: 'upgrade: nodes per batch, N or P%; a batch with a failed node stops the upgrade' })
        .option('agent-executable', { type: 'string', default: 'dist/pkg/ovn-chassis-agent', describe: 'install: systemd: the single executable to copy (npm run package makes it)' }),
    async (a) => {
      const fleet = loadFleet(a.inventory);
      const hosts = selected(fleet, a.limit);
      if (a.action === 'status') {
        const progress = new Progress('agent status', hosts.length, log);
        const results = await forEachHost<AgentStatus>(hosts, runOpts(a), progress, describeAgent, (h) => agentStatus(h, runOpts(a)));
        const skewed = results.filter((r) => r.ok && r.value.agent !== undefined && r.value.agent !== VERSION).map((r) => r.host);
        const silent = results.map((r) => (r.ok && r.value.agent === undefined ? { ...r, ok: false as const, error: { code: r.value.error?.code ?? 'UNREACHABLE', message: r.value.error?.message ?? '' } } : r));
        print(a, { controller: VERSION, protocol: PROTOCOL_VERSION, nodes: view(results), skew: skewed }, formatAgents(results, VERSION));
        code = fleetExit(silent, skewed.length > 0 ? EXIT.CHANGES : EXIT.OK);
        return;
      }
      if ((a.action === 'upgrade' || a.action === 'remove') && !(await confirmed(a, `agent ${a.action} on ${hosts.length} node${hosts.length === 1 ? '' : 's'}: ${hosts.map((h) => h.name).join(', ')}.`))) throw cancelled();
      const { default: Docker } = await import('dockerode');
      const local = new Docker();
      const image = a.image ?? AGENT_IMAGE;
      const results: NodeResult<unknown>[] = [];
      const size = a.action === 'upgrade' ? batchSize(a.batch, hosts.length) : hosts.length;
      for (let i = 0; i < hosts.length; i += size) {
        const batch = hosts.slice(i, i + size);
        const progress = new Progress(`agent ${a.action}`, batch.length, log);
        const done: NodeResult<unknown>[] = a.action === 'remove'
          ? await forEachHost<{ removed: boolean; kind: string }>(batch, { ...runOpts(a), writes: true }, progress, (v) => (v.removed ? `removed (${v.kind})` : `no agent ${v.kind === 'systemd' ? 'unit' : 'container'}`), (h) => removeAgent(h))
          : await forEachHost<AgentInstallResult>(batch, { ...runOpts(a), writes: true }, progress, describeInstall, (h) => installAgent(h, { image, local, upgrade: a.action === 'upgrade', executable: a['agent-executable'] }));
        results.push(...done);
        if (a.action === 'upgrade' && done.some((r) => !r.ok)) {
          log.warn({ op: 'agent upgrade' }, `stopping after batch ${i / size + 1}: a node's new agent failed; later batches untouched`);
          break;
        }
      }
      print(a, view(results), results.map((r) => (r.ok ? `${r.host}: ${JSON.stringify(r.value)}` : `${r.host}: ${failed(r)}`)).join('\n'));
      code = results.length < hosts.length ? EXIT.PARTIAL : fleetExit(results, EXIT.OK);
    })
    .command('import', 'read the nodes\' current chassis config into an inventory file', (y) =>
      fleetOpts(y, 'import')
        .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'the inventory file to write' })
        .option('from-midonet', { type: 'boolean', default: false, describe: 'MidoNet nodes: system-id = the MidoNet host UUID, encap IP = the tunnel-zone IP' })
        .option('tunnel-zone', { type: 'string', describe: 'with --from-midonet: MidoNet host UUID → tunnel IP (YAML or JSON, exported from MidoNet)' })
        .option('force', { type: 'boolean', default: false, describe: 'replace the output file when it exists' }),
    async (a) => {
      const fleet = loadFleet(a.inventory);
      const hosts = selected(fleet, a.limit);
      if (!a.force && existsSync(a.output)) throw new ControllerError('REFUSED', `${a.output} exists: give --force to replace it; nothing was read or written`);
      const tunnelZone = a['tunnel-zone'] ? { file: a['tunnel-zone'], members: loadConfigFile(tunnelZoneSchema, a['tunnel-zone']) } : undefined;
      const results = await importFleet(hosts, runOpts(a), { fromMidonet: a['from-midonet'], ...(tunnelZone ? { tunnelZone } : {}) });
      const imported = new Map(results.flatMap((r) => (r.ok ? [[r.host, r.value.fields] as const] : [])));
      if (imported.size > 0) writeFileSync(a.output, importedInventory(fleet, imported), { mode: 0o644 });
      // A warning is part of the result, on stdout and in --json, not only in the log.
      const line = (r: (typeof results)[number]) => (r.ok ? `${r.host}: imported${r.value.warnings.map((w) => `\n  warning: ${w}`).join('')}` : `${r.host}: ${failed(r)}`);
      print(a, view(results), `${results.map(line).join('\n')}\n\nwrote ${a.output} (${imported.size} of ${results.length} hosts imported)`);
      code = fleetExit(results, EXIT.OK);
    })
    .fail((msg, err) => {
      throw err ?? new ControllerError('USAGE', `${usageProblem(msg, parser, COMMANDS)}\nrun with --help for usage`);
    })
    .option(LOG_JSON_FLAG.slice(2), { type: 'boolean', default: false, global: true, describe: 'log JSON lines to stderr (default: text a person can read, at a terminal or not)' })
    .recommendCommands()
    .completion('completion', 'print a bash completion script (source it, or put it in /etc/bash_completion.d)')
    .epilog(EXIT_STATUS)
    .wrap(helpWidth())
    .help()
    .version(false);
  try {
    await parser.parseAsync();
  } catch (err) {
    const e = err as Error & { code?: string };
    const known = err instanceof ConfigError || err instanceof ControllerError;
    // Exit 1 says no node was changed: a failure after a change says what may have been, and exits 3.
    const changed = changeOf(err);
    if (json) process.stdout.write(`${JSON.stringify({ error: { code: known ? e.code : 'INTERNAL', message: e.message, ...(changed ? { changed } : {}) } }, null, 2)}\n`);
    process.stderr.write(`ovn-chassis: ${e.message.split('\n').map(printable).join('\n')}\n`);
    return changed ? EXIT.PARTIAL : EXIT.ERROR;
  }
  return code;
}
