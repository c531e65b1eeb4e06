import { EXIT, printResult } from '../../cli/index.js';
import { printable } from '../../common/text.js';
import { NO_CHANGES } from '../../schemas/output.js';
import { PullView, configText, connectConfigDb, pulledStatus } from '../config-db.js';
import type { Fleet, Host } from '../inventory.js';
import { table } from '../report.js';
import { type Verdict, expectationOf, judgeFromView } from '../verify.js';
import { log, southbound } from './common.js';

/** status --pull: each host's rows in the config database and its chassis in the Southbound; no node is reached. */
export async function statusPulled(fleet: Fleet, hosts: Host[], json: boolean): Promise<number> {
  const client = await connectConfigDb(fleet.inventory, log);
  const sb = await southbound(fleet, 'check registration').catch((err: Error) => err.message);
  try {
    const view = await PullView.watch(client);
    const desired = view.desired();
    const statuses = view.statuses();
    const now = Date.now();
    const judge = await judgeFromView(sb);
    const nodes = hosts.map((h) => {
      const reading = statuses.get(h.name);
      const pull = pulledStatus(configText(h.chassis), desired.get(h.name), reading, now);
      let verdict: Verdict;
      try {
        verdict = judge(expectationOf(h.name, h.chassis, reading?.ok && reading.row.encap_ips.length > 0 ? reading.row.encap_ips : undefined));
      } catch (err) {
        // Its encap IP is found on the node, and its agent has not said which it found.
        verdict = { host: h.name, systemId: h.chassis.systemId, state: 'unproven', why: (err as Error).message };
      }
      return { host: h.name, ok: true as const, ms: 0, pull, verdict };
    });
    const rows = nodes.map((n) => [
      n.host,
      `${n.pull.state}${n.pull.published ? ` (generation ${n.pull.published}${n.pull.applied !== undefined && n.pull.applied !== n.pull.published ? `, ${n.pull.applied} in force` : ''})` : ''}`,
      n.pull.agent ? `${n.pull.agent}, seen ${n.pull.seenS} s ago` : 'never reported',
      n.verdict.state === 'verified' ? 'registered' : n.verdict.state,
    ]);
    const errors = nodes.flatMap((n) => (n.pull.error ? [`  ${n.host}: ${n.pull.error}`] : []));
    const text = [...table(['host', 'config database', 'agent', 'Southbound'], rows), ...(errors.length > 0 ? ['', 'Agents say:', ...errors] : [])].map(printable).join('\n');
    const down = typeof sb === 'string' ? { error: { code: 'UNREACHABLE' as const, message: sb } } : {};
    printResult(json, 'status', { nodes, changes: NO_CHANGES, warnings: [], staleChassis: [], ...down }, text);
    if (typeof sb === 'string') return EXIT.ERROR;
    return nodes.every((n) => n.pull.state === 'applied' && n.verdict.state === 'verified') ? EXIT.OK : EXIT.CHANGES;
  } finally {
    client.close();
    if (typeof sb !== 'string') sb.close();
  }
}
