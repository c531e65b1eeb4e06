/**
 * npm run sandbox -- [--computes N] [--gateways N] [--transport local|ssh|direct] [--southbound standalone|cluster|tls] [--docker] [--midonet] [--keep]
 * npm run sandbox -- --real-controllers N [--computes N] [--gateways N] [--keep]
 * npm run sandbox -- --datapath [--computes N] [--gateways N] [--vms N] [--keep]
 *
 * Starts a local OVN fleet of real parts (sandbox/) and writes its
 * inventory, for trying ovn-chassis by hand, reached the ways production
 * reaches nodes: behind a real sshd with a pinned host key, through
 * Kolla-style containers, with a Raft or TLS-only Southbound. Beyond
 * --real-controllers nodes, chassis are registered with ovn-sbctl as
 * ovn-controller would (a thousand nodes fit this way). With --datapath the
 * fleet has a real data plane instead: per node a network namespace with
 * ovs-vswitchd and ovn-controller, and VMs on the old dataplane to migrate,
 * with their binding list and ping probes. With --keep it stays up until
 * Ctrl-C, then stops everything it started.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { DatapathSandbox, Sandbox, startSandbox } from '../sandbox/index.js';

const argv = yargs(hideBin(process.argv))
  .scriptName('npm run sandbox --')
  .usage('$0 [options]\n\nStarts a local OVN fleet of real parts, writes its inventory and prints the commands to try.')
  .option('computes', { type: 'number', default: 2, describe: 'compute nodes' })
  .option('gateways', { type: 'number', default: 1, describe: 'gateway nodes' })
  .option('transport', { choices: ['local', 'ssh', 'direct'] as const, default: 'local' as const, describe: 'how the controller reaches the nodes: in its own process; their agents over a real sshd (host key pinned in a known_hosts file); or direct mode over that sshd, nothing of ours on the node' })
  .option('southbound', { choices: ['standalone', 'cluster', 'tls'] as const, default: 'standalone' as const, describe: 'one ovsdb-server, a 3-member Raft cluster, or one server reached only over TLS (certificates made with openssl)' })
  .option('docker', { type: 'boolean', default: false, describe: 'each node\'s Open vSwitch database behind a Kolla-style openvswitch_vswitchd container in a dockerd of the sandbox\'s own (the docker backend)' })
  .option('midonet', { type: 'boolean', default: false, describe: 'MidoNet export files: a host id file per node and the tunnel-zone file, for import --from-midonet' })
  .option('real-controllers', { type: 'number', describe: 'nodes with a real ovn-controller (default: all); the rest are registered with ovn-sbctl' })
  .option('datapath', { type: 'boolean', default: false, describe: 'a real data plane: vswitchd per node in a network namespace, VMs to migrate' })
  .option('vms', { type: 'number', default: 2, describe: 'with --datapath: VMs per node (alternately on the provider and the tenant network)' })
  .option('keep', { type: 'boolean', default: false, describe: 'stay up until Ctrl-C' })
  .example('$0 --transport ssh --southbound tls --keep', 'nodes behind sshd, a TLS-only Southbound, until Ctrl-C')
  .example('$0 --docker --midonet --keep', 'Kolla-style containers, and MidoNet files to import from')
  .example('$0 --datapath --gateways 2 --computes 2 --keep', 'a real data plane with VMs to migrate')
  .strict()
  .wrap(process.stdout.isTTY ? Math.min(120, process.stdout.columns) : null)
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
} else if (argv['real-controllers'] !== undefined) {
  const sandbox = await Sandbox.start({ computes: argv.computes, gateways: argv.gateways, realControllers: argv['real-controllers'] });
  stop = () => sandbox.stop();
  const inv = sandbox.writeInventory();
  out(`sandbox: ${sandbox.nodes.length} nodes in ${sandbox.dir}: ${sandbox.describeRegistration()}\ninventory: ${inv}\n\ntry:`);
  for (const cmd of ['validate', 'diff', 'apply', 'status']) out(`  node bin/ovn-chassis.js ${cmd} -i ${inv}${cmd === 'validate' ? '' : ` --state-dir ${sandbox.dir}`}`);
} else {
  const s = await startSandbox({ computes: argv.computes, gateways: argv.gateways, transport: argv.transport, southbound: argv.southbound, docker: argv.docker, midonet: argv.midonet });
  stop = () => s.stop();
  out(`sandbox: ${s.describe.join('\n  ')}\ninventory: ${s.inventory}\n\ntry:`);
  for (const line of s.tries) out(`  ${line}`);
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
