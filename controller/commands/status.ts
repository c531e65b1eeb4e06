import { EXIT, printResult } from '../../cli/index.js';
import { printable } from '../../common/text.js';
import { fleetExit, statusFleet } from '../fleet.js';
import { loadFleet } from '../inventory.js';
import { formatStatus } from '../report.js';
import { statusPulled } from './status-pulled.js';
import { changesOf, command, fleetOpts, runOpts, selected, southbound, view, warningsOf } from './common.js';

export const status = command(
  'status', 'per node: in sync or drifted, and registered in the Southbound DB',
  [
    ['$0 status -i inventory.yaml', 'per node: in sync or drifted, registered or not; and stale chassis'],
    ['$0 status -i inventory.yaml --pull', 'pull mode: per host, the generation published and applied, its agent, and its chassis'],
  ],
  (y) => fleetOpts(y).option('pull', { type: 'boolean', default: false, describe: 'pull mode: read each host\'s rows in the config database, not the nodes' }),
  async (a) => {
    const fleet = loadFleet(a.inventory);
    const hosts = selected(fleet, a.limit);
    if (a.pull) return statusPulled(fleet, hosts, a.json);
    // The Southbound down is no reason to hide the nodes: each is shown, its registration unproven with why.
    const sb = await southbound(fleet, 'check registration').catch((err: Error) => err.message);
    try {
      const results = await statusFleet(hosts, runOpts(a), typeof sb === 'string' ? 'the Southbound DB could not be reached' : sb);
      const claimed = new Set(fleet.hosts.map((h) => h.chassis.systemId));
      const stale = typeof sb === 'string' ? [] : sb.chassisNames().filter((n) => !claimed.has(n)).sort();
      const down = typeof sb === 'string' ? { error: { code: 'UNREACHABLE', message: sb } } : {};
      printResult(a.json, 'status', { nodes: view(results), changes: changesOf(results), warnings: warningsOf(results), staleChassis: stale, ...down }, formatStatus(results, stale));
      if (typeof sb === 'string') {
        process.stderr.write(`ovn-chassis: ${printable(sb)}\n`);
        return EXIT.ERROR;
      }
      const clean = results.every((r) => r.ok && r.value.plan.inSync && r.value.verdict.state === 'verified') && stale.length === 0;
      return fleetExit(results, clean ? EXIT.OK : EXIT.CHANGES);
    } finally {
      if (typeof sb !== 'string') sb.close();
    }
  },
);
