import { existsSync, writeFileSync } from 'node:fs';
import { tunnelZoneSchema } from '../../schemas/inventory.js';
import { loadConfigFile } from '../../schemas/load.js';
import { EXIT, printResult } from '../../cli/index.js';
import { ControllerError } from '../errors.js';
import { fleetExit } from '../fleet.js';
import { importFleet, importedInventory } from '../import.js';
import { loadFleet } from '../inventory.js';
import { failed } from '../report.js';
import { command, fleetOpts, runOpts, selected, view, warningsOf } from './common.js';

export const importCommand = command(
  'import', 'read the nodes\' current chassis config into an inventory file',
  [['$0 import -i inventory.yaml -o adopted.yaml --from-midonet --tunnel-zone tz.yaml', 'adopt a running MidoNet cloud without changing it']],
  (y) => fleetOpts(y)
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
    printResult(a.json, 'import', { nodes: view(results), warnings: warningsOf(results), output: a.output, imported: imported.size }, `${results.map(line).join('\n')}\n\nwrote ${a.output} (${imported.size} of ${results.length} hosts imported)`);
    return fleetExit(results, EXIT.OK);
  },
);
