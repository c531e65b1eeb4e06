/**
 * npm run demo — the main job on an embedded default: a sandbox fleet (real
 * ovsdb-servers, a real Southbound DB, real ovn-controllers) that the
 * controller validates, diffs, applies and verifies, ending with the chassis
 * it proved. Everything it starts, it stops.
 */
import { main as controller } from '../controller/cli.js';
import { OvsdbClient } from '../ovsdb/index.js';
import { Sandbox } from '../sandbox/index.js';

const say = (s: string) => process.stdout.write(`${s}\n`);

async function step(args: string[]): Promise<number> {
  say(`\n$ ovn-chassis ${args.join(' ')}`);
  const code = await controller(args);
  say(`(exit ${code})`);
  return code;
}

async function provedChassis(sb: string): Promise<string[]> {
  const client = await OvsdbClient.connect({ endpoint: sb });
  try {
    const chassis = await client.select('OVN_Southbound', 'Chassis', [], ['name', 'hostname', 'encaps', 'other_config']);
    const encaps = new Map((await client.select('OVN_Southbound', 'Encap', [], ['type', 'ip'])).map((e) => [e._uuid as string, e]));
    return chassis
      .map((c) => {
        const enc = (c.encaps as string[]).map((u) => encaps.get(u)).map((e) => `${e?.type}:${e?.ip}`).join(',');
        const gw = ((c.other_config as Map<string, string>).get('ovn-cms-options') ?? '').includes('enable-chassis-as-gw');
        return `  ${String(c.hostname).padEnd(8)} ${String(c.name)}  encap ${enc}${gw ? '  gateway' : ''}`;
      })
      .sort();
  } finally {
    client.close();
  }
}

async function run(): Promise<number> {
  say('Starting a sandbox fleet: Northbound and Southbound ovsdb-servers, 1 gateway and 2 computes,');
  say('each node with its own ovsdb-server and a real ovn-controller...');
  const sandbox = await Sandbox.start({ computes: 2, gateways: 1 });
  try {
    const inv = sandbox.writeInventory();
    say(`inventory: ${inv}`);
    const codes = [
      await step(['validate', '-i', inv]),
      await step(['diff', '-i', inv, '--state-dir', sandbox.dir]),
      await step(['apply', '-i', inv, '--state-dir', sandbox.dir, '--verify-timeout', '30', '--yes']),
      await step(['diff', '-i', inv, '--state-dir', sandbox.dir]),
      await step(['status', '-i', inv, '--state-dir', sandbox.dir]),
    ];
    const proved = await provedChassis(sandbox.sb.unix);
    const crashed = sandbox.nodes.filter((n) => n.controller?.exited).map((n) => `${n.name}: ${n.controller?.exited}`);
    for (const c of crashed) say(`ovn-controller died: ${c}`);
    const ok = crashed.length === 0 && codes[0] === 0 && codes[1] === 2 && codes[2] === 0 && codes[3] === 0 && codes[4] === 0 && proved.length === sandbox.nodes.length;
    say(`\nChassis proved in the Southbound DB (${proved.length} of ${sandbox.nodes.length}):`);
    for (const line of proved) say(line);
    say(ok ? '\ndemo: every sandbox chassis verified' : '\ndemo: FAILED — see above');
    return ok ? 0 : 1;
  } finally {
    await sandbox.stop();
  }
}

run().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
