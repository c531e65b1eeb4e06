import { EXIT, printResult } from '../../cli/index.js';
import { ControllerError } from '../errors.js';
import { fleetExit } from '../fleet.js';
import { connectNorthbound } from '../gateways.js';
import { loadFleet } from '../inventory.js';
import { Journal } from '../journal.js';
import { failed } from '../report.js';
import { rollbackFleet } from '../rollback.js';
import { command, confirmOrCancel, writeOpts, runOpts, selected, view } from './common.js';

export const rollback = command(
  'rollback', 'restore nodes\' previous configuration, run their rollback hooks, check the result',
  [['$0 rollback -i inventory.yaml --limit cmp-7 --journal ovn-chassis-rollout.journal', 'put cmp-7 back as it was before the rollout']],
  (y) => writeOpts(y).option('journal', { type: 'string', describe: 'take each node\'s previous values from this rollout journal (default: the agent\'s own snapshot)' }),
  async (a) => {
    if (!a.limit) throw new ControllerError('USAGE', 'rollback needs --limit naming the nodes to roll back');
    const fleet = loadFleet(a.inventory);
    const hosts = selected(fleet, a.limit);
    await confirmOrCancel(a, `Rolling back ${hosts.length} node${hosts.length === 1 ? '' : 's'}: ${hosts.map((h) => h.name).join(', ')}.`);
    const journal = a.journal ? Journal.open(a.journal, true) : undefined;
    const history = journal?.history;
    const nb = hosts.some((h) => history?.get(h.name)?.drained) ? await connectNorthbound(fleet.inventory) : undefined;
    try {
      const results = await rollbackFleet(hosts, runOpts(a), journal, nb);
      const line = (r: (typeof results)[number]) => (r.ok
        ? `${r.host}: restored ${Object.keys(r.value.restored).length} keys from the ${r.value.source}${r.value.unplugged ? `, put ${r.value.unplugged} VIFs back on their old bridges` : ''}, ran ${r.value.hooks} rollback hooks, checked`
        : `${r.host}: ${failed(r)}`);
      printResult(a.json, 'rollback', { nodes: view(results) }, results.map(line).join('\n'));
      return fleetExit(results, EXIT.OK);
    } finally {
      nb?.close();
      await journal?.close();
    }
  },
);
