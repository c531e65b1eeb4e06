import { EXIT, printResult } from '../../cli/index.js';
import { asList } from '../../schemas/chassis.js';
import { configText, connectConfigDb, planPublishIn, writePublish } from '../config-db.js';
import { loadFleet } from '../inventory.js';
import { command, confirmOrCancel, inventoryOpts, limitOpt, log, refuseInvalid, selected, yesOpt } from './common.js';

export const publishCommand = command(
  'publish', 'pull mode: write each host\'s desired config in the config database, in one transaction; its agent applies it',
  [
    ['$0 publish -i inventory.yaml', 'publish every host\'s config; the unchanged keep their generation'],
    ['$0 publish -i inventory.yaml --limit cmp-1,cmp-2', 'publish two hosts\' config only'],
  ],
  (y) => yesOpt(limitOpt(inventoryOpts(y))),
  async (a) => {
    const fleet = loadFleet(a.inventory);
    refuseInvalid(fleet);
    const hosts = selected(fleet, a.limit);
    const client = await connectConfigDb(fleet.inventory, log);
    try {
      const steps = await planPublishIn(client, hosts.map((h) => ({ host: h.name, config: configText(h.chassis) })));
      const changed = steps.filter((s) => s.changed);
      const lines = steps.map((s) => `${s.host}: ${s.changed ? `generation ${s.generation}${s.previous ? ` (was ${s.previous})` : ' (new)'}` : `unchanged at generation ${s.generation}`}`);
      if (changed.length > 0) await confirmOrCancel(a, `${lines.join('\n')}\n\nPublish ${changed.length} host(s) to ${asList(fleet.inventory.configDb ?? []).join(',')}? Their agents apply it at once.`);
      await writePublish(client, steps);
      const nodes = steps.map((s) => ({ host: s.host, generation: s.generation, changed: s.changed, ...(s.previous !== undefined ? { previous: s.previous } : {}) }));
      printResult(a.json, 'publish', { nodes, published: changed.length }, `${lines.join('\n')}\npublished ${changed.length} of ${steps.length} host(s)`);
      return EXIT.OK;
    } finally {
      client.close();
    }
  },
);
