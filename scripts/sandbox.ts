/**
 * npm run sandbox -- [--computes N] [--gateways N] [--real-controllers N] [--keep]
 *
 * Starts a local OVN fleet of real parts (see scripts/lib/sandbox.ts) and
 * writes its inventory, for trying ovn-chassis by hand. Beyond
 * --real-controllers nodes, chassis are registered with ovn-sbctl as
 * ovn-controller would (a thousand nodes fit this way). With --keep it stays
 * up until Ctrl-C, then stops everything it started.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { Sandbox } from './lib/sandbox.js';

const argv = yargs(hideBin(process.argv))
  .option('computes', { type: 'number', default: 2 })
  .option('gateways', { type: 'number', default: 1 })
  .option('real-controllers', { type: 'number', describe: 'nodes with a real ovn-controller (default: all); the rest are registered with ovn-sbctl' })
  .option('keep', { type: 'boolean', default: false, describe: 'stay up until Ctrl-C' })
  .strict()
  .parseSync();

const sandbox = await Sandbox.start({ computes: argv.computes, gateways: argv.gateways, ...(argv['real-controllers'] !== undefined ? { realControllers: argv['real-controllers'] } : {}) });
const inv = sandbox.writeInventory();
process.stdout.write(`sandbox: ${sandbox.nodes.length} nodes in ${sandbox.dir}: ${sandbox.describeRegistration()}\ninventory: ${inv}\n\ntry:\n`);
for (const cmd of ['validate', 'diff', 'apply', 'status']) {
  process.stdout.write(`  node bin/ovn-chassis.js ${cmd} -i ${inv}${cmd === 'validate' ? '' : ` --state-dir ${sandbox.dir}`}\n`);
}
if (argv.keep) {
  process.stdout.write('\nthe sandbox stays up until Ctrl-C\n');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}
await sandbox.stop();
process.stdout.write('sandbox stopped\n');
