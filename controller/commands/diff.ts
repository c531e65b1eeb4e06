import { EXIT, printResult } from '../../cli/index.js';
import { diffFleet, fleetExit } from '../fleet.js';
import { loadFleet } from '../inventory.js';
import { formatDiff } from '../report.js';
import { savePlan } from '../saved-plan.js';
import { changesOf, command, fleetOpts, runOpts, selected, view, warningsOf } from './common.js';

export const diff = command(
  'diff', 'show what apply would change on each node',
  [
    ['$0 diff -i inventory.yaml', 'what apply would change on every node (exit 2 when something would)'],
    ['$0 diff -i inventory.yaml --limit compute -o change-42.plan', 'save the plan for review, then apply exactly it'],
  ],
  (y) => fleetOpts(y)
    .option('allow-system-id-change', { type: 'boolean', default: false, describe: 'plan new system-ids instead of refusing them (a new id makes a new chassis)' })
    .option('out', { alias: 'o', type: 'string', describe: 'save the plan (each node\'s changes and the values it holds) for apply --plan' }),
  async (a) => {
    const fleet = loadFleet(a.inventory);
    const hosts = selected(fleet, a.limit);
    const results = await diffFleet(hosts, runOpts(a), a['allow-system-id-change']);
    if (a.out) savePlan(a.out, fleet, hosts, results);
    const saved = a.out ? `\n\nPlan saved to ${a.out}: apply exactly it with ovn-chassis apply -i ${fleet.source} --plan ${a.out}` : '';
    printResult(a.json, 'diff', { nodes: view(results), changes: changesOf(results), warnings: warningsOf(results), ...(a.out ? { plan: a.out } : {}) }, `${formatDiff(results)}${saved}`);
    return fleetExit(results, results.some((r) => r.ok && !r.value.plan.inSync) ? EXIT.CHANGES : EXIT.OK);
  },
);
