/**
 * npm run sandbox -- [--computes N] [--gateways N] [--keep]
 *
 * Starts a local OVN fleet of real parts (see scripts/lib/sandbox.ts) and
 * writes its inventory, for trying ovn-chassis by hand. With --keep it stays
 * up until Ctrl-C, then stops everything it started.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { Sandbox } from './lib/sandbox.js';

const argv = yargs(hideBin(process.argv))
  .option('computes', { type: 'number', default: 2 })
  .option('gateways', { type: 'number', default: 1 })
  .option('keep', { type: 'boolean', default: false, describe: 'stay up until Ctrl-C' })
  .strict()
  .parseSync();

const sandbox = await Sandbox.start({ computes: argv.computes, gateways: argv.gateways });
const inv = sandbox.writeInventory();
process.stdout.write(`sandbox: ${sandbox.nodes.length} nodes in ${sandbox.dir}\ninventory: ${inv}\n\ntry:\n`);
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
