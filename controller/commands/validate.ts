import { EXIT, printResult } from '../../cli/index.js';
import { loadFleet } from '../inventory.js';
import { formatFindings } from '../report.js';
import { validateFleet } from '../validate.js';
import { command, inventoryOpts } from './common.js';

export const validate = command(
  'validate', 'check the inventory and the fleet as a whole',
  [['$0 validate -i inventory.yaml', 'check the inventory and the fleet as a whole (duplicate ids, IPs, hostnames)']],
  inventoryOpts,
  (a) => {
    const fleet = loadFleet(a.inventory);
    const findings = validateFleet(fleet);
    printResult(a.json, 'validate', { hosts: fleet.hosts.length, findings }, formatFindings(fleet.source, fleet.hosts.length, findings));
    return findings.some((f) => f.level === 'error') ? EXIT.ERROR : EXIT.OK;
  },
);
