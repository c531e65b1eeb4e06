import { EXIT, confirmed, printResult } from '../../cli/index.js';
import { logFormat } from '../../common/log.js';
import { printable } from '../../common/text.js';
import { NO_CHANGES, addCounts } from '../../schemas/output.js';
import { loadBindings } from '../../schemas/vifs.js';
import { ControllerError } from '../errors.js';
import { diffFleet, fleetExit, forEachNode } from '../fleet.js';
import { connectNorthbound } from '../gateways.js';
import { type Fleet, loadFleet } from '../inventory.js';
import { Journal } from '../journal.js';
import { planRollout } from '../plan.js';
import { checkNode, fleetProblems } from '../preflight.js';
import { formatProbes, startProbes } from '../probes.js';
import { Progress } from '../progress.js';
import { failed, formatDiff } from '../report.js';
import { formatHooks, formatReport, report, rollout as runRollout } from '../rollout.js';
import { loadPlan, savePlan } from '../saved-plan.js';
import { vifsByHost } from '../workloads.js';
import { rolloutPulled } from './rollout-pulled.js';
import { type FleetArgs, changesOf, command, writeOpts, log, refuseInvalid, runOpts, selected, southbound, stopBetweenBatches, view, warningsOf } from './common.js';

/** How long probes may take to answer again after the last node (a VM's path comes back within a second or two). */
const PROBE_SETTLE_MS = 10_000;

/** rollout --preflight-only: each selected node's checks, as its precheck step would run them; nothing is changed. */
async function preflightOnly(fleet: Fleet, a: FleetArgs): Promise<number> {
  const hosts = selected(fleet, a.limit);
  const across = fleetProblems(fleet.hosts);
  const sb = await southbound(fleet, 'read the other chassis\' tunnel endpoints');
  try {
    const results = await forEachNode(hosts, runOpts(a), new Progress('pre-flight', hosts.length, log), () => 'passed', (host, agent) => checkNode(host, agent, sb, log, across.get(host.name)));
    const nodes = results.map((r) => (r.ok ? { host: r.host, ok: true, ms: r.ms, preflight: r.value } : r));
    printResult(a.json, 'rollout', { outcome: 'checked', nodes, changes: NO_CHANGES, warnings: [] }, results.map((r) => (r.ok ? `${r.host}: ${r.value}` : `${r.host}: ${failed(r)}`)).join('\n'));
    return fleetExit(results, EXIT.OK);
  } finally {
    sb.close();
  }
}

export const rollout = command(
  'rollout', 'migrate the fleet in batches, journaled, each node proved before the next batch',
  [
    ['$0 rollout -i inventory.yaml --batch 10% --canary 1 --bindings ports.json', 'migrate in batches, moving each VM\'s tap onto br-int'],
    ['$0 rollout -i inventory.yaml --batch 10% --preflight-only', 'every node\'s pre-flight checks; nothing is changed'],
    ['$0 rollout -i inventory.yaml --batch 10% --resume', 'continue the rollout the journal records'],
    ['$0 rollout -i inventory.yaml --batch 10% --pull', 'pull mode: publish batch by batch; run again from any machine to resume'],
  ],
  (y) => writeOpts(y)
    .option('batch', {
      type: 'string', demandOption: true, describe: 'nodes per batch: N or P%',
      coerce: (v: unknown) => {
        if (Array.isArray(v)) throw new ControllerError('USAGE', `--batch is given ${v.length} times (${v.join(', ')}); give it once`);
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
    .option('bindings', { type: 'string', describe: 'the VM ports to move onto br-int, per host (openstack port show -f json output, or {port, mac, vm, host, tap})' })
    .option('pull', { type: 'boolean', default: false, describe: 'pull mode: publish each batch in the config database and wait for its agents\' status rows; resumes from any machine' })
    .option('apply-timeout', { type: 'number', default: 120, describe: 'with --pull: seconds an agent has to report its generation applied' }),
  async (a) => {
    if (!Number.isInteger(a['max-failures']) || a['max-failures'] < 0) throw new ControllerError('USAGE', `--max-failures ${a['max-failures']}: expected 0 or more`);
    if (!(a.pause >= 0)) throw new ControllerError('USAGE', `--pause ${a.pause}: expected 0 or more seconds`);
    const fleet = loadFleet(a.inventory);
    refuseInvalid(fleet);
    if (a.pull) return rolloutPulled(fleet, a);
    const vifs = a.bindings ? vifsByHost(loadBindings(a.bindings), fleet.hosts, a.bindings) : undefined;
    if (a['preflight-only']) return preflightOnly(fleet, a);
    if (a['plan-only']) {
      const hosts = selected(fleet, a.limit);
      const batches = planRollout(hosts, { batch: a.batch, canary: a.canary, ...(a['batch-by'] ? { batchBy: a['batch-by'] } : {}), order: fleet.inventory.rollout?.order }).map((b) => b.map((h) => h.name));
      const results = await diffFleet(hosts, runOpts(a), false);
      if (a.out) savePlan(a.out, fleet, hosts, results, batches);
      const lines = [...batches.map((b, i) => `batch ${i + 1}${i === 0 && a.canary ? ' (canary)' : ''}: ${b.join(', ')}`), '', formatDiff(results), ...(a.out ? ['', `Plan saved to ${a.out}: run exactly it with ovn-chassis rollout -i ${fleet.source} --batch ${a.batch} --plan ${a.out}`] : [])];
      printResult(a.json, 'rollout', { outcome: 'planned', batches, nodes: view(results), changes: changesOf(results), warnings: warningsOf(results), ...(a.out ? { plan: a.out } : {}) }, lines.join('\n'));
      return fleetExit(results, results.some((r) => r.ok && !r.value.plan.inSync) ? EXIT.CHANGES : EXIT.OK);
    }
    if (a.plan && a.limit) throw new ControllerError('USAGE', '--plan names its own hosts; give no --limit with it');
    const loaded = a.plan ? loadPlan(a.plan, fleet, a['plan-max-age']) : undefined;
    if (loaded && !loaded.plan.batches) throw new ControllerError('REFUSED', `plan ${a.plan} has no batches (diff -o made it): make a rollout plan with rollout --plan-only -o; nothing was changed`);
    const journal = Journal.open(a.journal, a.resume);
    const stop = stopBetweenBatches('--resume continues');
    // At a terminal, a live line beneath the step lines: nodes done of those this run has to do, failures, elapsed, ETA.
    let progress: Progress | undefined;
    try {
      const sb = await southbound(fleet, 'verify each node');
      const nb = a.drain && fleet.hosts.some((h) => h.chassis.gateway) ? await connectNorthbound(fleet.inventory).catch((err) => {
        sb.close();
        throw err;
      }) : undefined;
      const probes = startProbes(fleet.inventory.rollout?.probes ?? []);
      try {
        const outcome = await runRollout(fleet, journal, sb, {
          ...(vifs ? { vifs } : {}),
          ...(loaded?.plan.batches ? { saved: { batches: loaded.plan.batches, planned: loaded.planned } } : {}),
          ...(nb ? { nb } : {}),
          drain: a.drain,
          batch: a.batch, canary: a.canary, ...(a['batch-by'] ? { batchBy: a['batch-by'] } : {}), ...(a.limit ? { limit: a.limit } : {}),
          maxFailures: a['max-failures'], pauseS: a.pause, verifyTimeoutS: a['verify-timeout'], run: runOpts(a), log,
          onPlan: (batches, resumed, hooks) => {
            const left = batches.flat().filter((h) => journal.history.get(h)?.state !== 'done');
            if (logFormat() === 'text') progress = new Progress('rollout', left.length, log);
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
            if (progress) progress.say(text);
            else log.info({ op: 'rollout' }, text.trim());
          },
          onNode: (_host, ok) => progress?.count(ok),
          stopRequested: stop.requested,
          confirm: () => confirmed(a.yes, 'The rollout above will change the nodes of each batch in turn.'),
        });
        const hosts = journal.records.flatMap((r) => (r.type === 'start' ? r.batches.flat() : []));
        const nodes = report(journal.records, hosts);
        const measured = await probes.stop(PROBE_SETTLE_MS);
        const table = formatProbes(measured);
        const human = `${formatReport(nodes)}${table.length ? `\n\nData plane during this run:\n${table.join('\n')}` : ''}\nrollout ${outcome}`;
        printResult(a.json, 'rollout', { outcome, journal: journal.path, nodes, probes: measured, changes: addCounts(nodes.map((n) => n.changes)), warnings: [] }, human);
        return outcome === 'done' ? EXIT.OK : EXIT.PARTIAL;
      } finally {
        await probes.stop();
        nb?.close();
        sb.close();
      }
    } finally {
      stop.release();
      await journal.close();
    }
  },
);
