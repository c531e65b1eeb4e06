import { EXIT, printResult, willAsk } from '../../cli/index.js';
import { plannedOf } from '../../schemas/saved-plan.js';
import { ControllerError } from '../errors.js';
import { applyFleet, diffFleet, fleetExit } from '../fleet.js';
import { loadFleet } from '../inventory.js';
import { formatApply, formatDiff } from '../report.js';
import { loadPlan } from '../saved-plan.js';
import { changesOf, command, confirmOrCancel, writeOpts, refuseInvalid, runOpts, selected, southbound, systemIdsOf, view, warningsOf } from './common.js';

export const apply = command(
  'apply', 'apply each node\'s config and prove it in the Southbound DB',
  [
    ['$0 apply -i inventory.yaml --limit cmp-1', 'apply one node and prove its chassis in the Southbound (asks first at a terminal)'],
    ['$0 apply -i inventory.yaml --plan change-42.plan', 'apply exactly a reviewed plan; a node changed since is refused untouched'],
  ],
  (y) => writeOpts(y)
    .option('verify', { type: 'boolean', default: true, describe: 'prove each chassis in the Southbound DB (--no-verify to skip)' })
    .option('verify-timeout', { type: 'number', default: 60, describe: 'seconds to wait for the Southbound DB to show every chassis' })
    .option('allow-system-id-change', { type: 'boolean', default: false, describe: 'allow new system-ids; the stranded chassis are removed from the SB' })
    .option('plan', { type: 'string', describe: 'apply exactly this saved plan (diff -o): a node that changed since is refused, untouched' })
    .option('plan-max-age', { type: 'number', default: 24, describe: 'hours after which a saved plan is refused' }),
  async (a) => {
    const fleet = loadFleet(a.inventory);
    refuseInvalid(fleet);
    if (a.plan && a.limit) throw new ControllerError('USAGE', '--plan names its own hosts; give no --limit with it');
    const saved = a.plan ? loadPlan(a.plan, fleet, a['plan-max-age']) : undefined;
    const hosts = saved ? saved.hosts : selected(fleet, a.limit);
    let planned = saved?.planned;
    if (saved) {
      const n = saved.plan.nodes.filter((x) => x.changes.length > 0);
      await confirmOrCancel(a, `The plan ${a.plan} (made ${saved.plan.createdAt}) changes ${n.length} of ${hosts.length} nodes: ${n.map((x) => `${x.host} (${x.changes.length})`).join(', ')}.`);
    } else if (willAsk(a.yes)) {
      // What is shown is what is applied: each node's write holds only while it still is what the diff read.
      const shown = await diffFleet(hosts, runOpts(a), a['allow-system-id-change']);
      await confirmOrCancel(a, formatDiff(shown));
      planned = new Map(shown.flatMap((r) => (r.ok ? [[r.host, plannedOf(r.value.plan.changes)] as const] : [])));
    }
    const sb = a.verify ? await southbound(fleet, 'verify the result') : undefined;
    try {
      const results = await applyFleet(hosts, {
        ...runOpts(a), allowSystemIdChange: a['allow-system-id-change'], verifyTimeoutMs: a['verify-timeout'] * 1000,
        fleetSystemIds: systemIdsOf(fleet), ...(sb ? { southbound: sb } : {}), ...(planned ? { planned } : {}),
      });
      const applied = results.filter((r) => r.ok && r.value.applied);
      printResult(a.json, 'apply', { nodes: view(results), changes: changesOf(applied), warnings: warningsOf(results) }, formatApply(results, a.verify));
      return fleetExit(results, EXIT.OK);
    } finally {
      sb?.close();
    }
  },
);
