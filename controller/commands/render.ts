import { printResult } from '../../cli/index.js';
import { stringify } from 'yaml';
import { namedIps } from '../../schemas/keys.js';
import { resolveOnNodes } from '../fleet.js';
import { type Host, loadFleet } from '../inventory.js';
import { command, fleetOpts, runOpts, selected } from './common.js';

export const render = command(
  'render', 'show each host\'s resulting chassis config',
  [['$0 render -i inventory.yaml --limit cmp-1', 'the chassis config cmp-1 gets from defaults, its groups and its own fields']],
  (y) => fleetOpts(y).option('resolve', { type: 'boolean', default: false, describe: 'ask each node what it resolves (an encap IP given as an interface or a network)' }),
  async (a) => {
    const fleet = loadFleet(a.inventory);
    const hosts = selected(fleet, a.limit);
    const resolved = a.resolve ? await resolveOnNodes(hosts.filter((h) => !namedIps(h.chassis.encap.ip)), runOpts(a)) : new Map<string, string[]>();
    const config = (h: Host) => (resolved.has(h.name) ? { ...h.chassis, encap: { ...h.chassis.encap, ip: resolved.get(h.name) } } : h.chassis);
    const nodes = hosts.map((h) => ({ host: h.name, address: h.address, groups: h.groups, transport: h.transport.kind, agent: h.agent, config: config(h) }));
    printResult(a.json, 'render', { nodes }, stringify(Object.fromEntries(hosts.map((h) => [h.name, config(h)]))).trimEnd());
    return 0;
  },
);
