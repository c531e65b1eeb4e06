/**
 * npm run sandbox -- [--computes N] [--gateways N] [--real-controllers N] [--keep]
 * npm run sandbox -- --datapath [--computes N] [--gateways N] [--vms N] [--keep]
 *
 * Starts a local OVN fleet of real parts (see sandbox/sandbox.ts) and
 * writes its inventory, for trying ovn-chassis by hand. Beyond
 * --real-controllers nodes, chassis are registered with ovn-sbctl as
 * ovn-controller would (a thousand nodes fit this way). With --datapath the
 * fleet has a real data plane instead (sandbox/datapath.ts): per node a
 * network namespace with ovs-vswitchd and ovn-controller, and VMs on the old
 * dataplane to migrate, with their binding list and ping probes. With --keep
 * it stays up until Ctrl-C, then stops everything it started.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { DatapathSandbox, Sandbox } from '../sandbox/index.js';

const argv = yargs(hideBin(process.argv))
  .option('datapath', { type: 'boolean', default: false, describe: 'a real data plane: vswitchd per node in a network namespace, VMs to migrate' })
  .option('computes', { type: 'number', default: 2 })
  .option('gateways', { type: 'number', default: 1 })
  .option('vms', { type: 'number', default: 2, describe: 'with --datapath: VMs per node (alternately on the provider and the tenant network)' })
  .option('real-controllers', { type: 'number', describe: 'nodes with a real ovn-controller (default: all); the rest are registered with ovn-sbctl' })
  .option('keep', { type: 'boolean', default: false, describe: 'stay up until Ctrl-C' })
  .strict()
  .parseSync();

const out = (text: string) => process.stdout.write(`${text}\n`);
let stop: () => Promise<void>;
if (argv.datapath) {
  const s = await DatapathSandbox.start({ computes: argv.computes, gateways: argv.gateways, vmsPerNode: argv.vms });
  stop = () => s.stop();
  const inv = s.writeInventory();
  const bindings = s.writeBindings();
  out(`datapath sandbox: ${s.nodes.length} nodes, ${s.vms.length} VMs on the old dataplane, in ${s.dir}`);
  out(`inventory: ${inv} (with ${s.probes().length} ping probes)\nbindings: ${bindings}\n\ntry:`);
  out(`  node bin/ovn-chassis.js rollout -i ${inv} --bindings ${bindings} --batch 1 --journal ${s.dir}/rollout.journal`);
  out(`  node bin/ovn-chassis.js rollback -i ${inv} --limit cmp-1 --journal ${s.dir}/rollout.journal`);
} else {
  const sandbox = await Sandbox.start({ computes: argv.computes, gateways: argv.gateways, ...(argv['real-controllers'] !== undefined ? { realControllers: argv['real-controllers'] } : {}) });
  stop = () => sandbox.stop();
  const inv = sandbox.writeInventory();
  out(`sandbox: ${sandbox.nodes.length} nodes in ${sandbox.dir}: ${sandbox.describeRegistration()}\ninventory: ${inv}\n\ntry:`);
  for (const cmd of ['validate', 'diff', 'apply', 'status']) out(`  node bin/ovn-chassis.js ${cmd} -i ${inv}${cmd === 'validate' ? '' : ` --state-dir ${sandbox.dir}`}`);
}
if (argv.keep) {
  out('\nthe sandbox stays up until Ctrl-C');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}
await stop();
out('sandbox stopped');
