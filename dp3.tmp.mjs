import { DatapathSandbox } from '/work/main/dist/scripts/lib/datapath.js';
import { execFileSync, spawnSync } from 'node:child_process';
const s = await DatapathSandbox.start({ gateways: 2, computes: 2, vmsPerNode: 2 });
try {
  const inv = s.writeInventory();
  const bind = s.writeBindings();
  const args = (process.env.ARGS ?? '--batch 1').split(' ');
  const r = spawnSync('node', ['/work/main/bin/ovn-chassis.js', 'rollout', '-i', inv, ...args, '--bindings', bind, '--journal', s.dir + '/j', '--verify-timeout', '20'], { encoding: 'utf8' });
  console.log(r.status, r.stdout, r.stderr.split('\n').filter(l => /FAIL|STOP|error|Error/.test(l)).join('\n').slice(-3000));
  console.log('active gateway', s.activeGateway(), s.gatewayPriorities());
  if (process.env.AGAIN) {
    const r2 = spawnSync('node', ['/work/main/bin/ovn-chassis.js', 'rollout', '-i', inv, '--batch', '1', '--journal', s.dir + '/j2', '--verify-timeout', '20', '--limit', 'gateway', '--bindings', bind], { encoding: 'utf8' });
    console.log(r2.status, r2.stdout, r2.stderr.slice(-2000));
    console.log('active gateway', s.activeGateway(), s.gatewayPriorities());
  }
} finally { await s.stop(); }
