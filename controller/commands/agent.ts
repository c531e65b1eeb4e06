import { EXIT, printResult } from '../../cli/index.js';
import { PROTOCOL_VERSION } from '../../schemas/rpc.js';
import { AGENT_IMAGE, VERSION } from '../../schemas/version.js';
import { type AgentInstallResult, type AgentStatus, agentStatus, describeAgent, describeInstall, installAgent, removeAgent } from '../agents.js';
import { type NodeResult, fleetExit, forEachHost } from '../fleet.js';
import { loadFleet } from '../inventory.js';
import { batchSize } from '../plan.js';
import { Progress } from '../progress.js';
import { failed, formatAgents } from '../report.js';
import { command, confirmOrCancel, writeOpts, log, runOpts, selected, view } from './common.js';

export const agent = command(
  'agent <action>', 'the node agents: install, upgrade (in batches), status (versions, skew), remove',
  [
    ['$0 agent install -i inventory.yaml --limit compute', 'install the agent on the compute nodes'],
    ['$0 agent status -i inventory.yaml', 'each node\'s agent version and state, and version skew'],
  ],
  (y) => writeOpts(y)
    .positional('action', { choices: ['install', 'upgrade', 'status', 'remove'] as const, demandOption: true, describe: 'what to do' })
    .option('image', { type: 'string', describe: `the agent image to install (default ${AGENT_IMAGE}; taken from DOCKER_HOST when a node lacks it)` })
    .option('batch', { type: 'string', default: '1', describe: 'upgrade: nodes per batch, N or P%; a batch with a failed node stops the upgrade' })
    .option('agent-executable', { type: 'string', default: 'dist/pkg/ovn-chassis-agent', describe: 'install: systemd: the single executable to copy (npm run package makes it)' }),
  async (a) => {
    const fleet = loadFleet(a.inventory);
    const hosts = selected(fleet, a.limit);
    const head = { action: a.action, controller: VERSION, protocol: PROTOCOL_VERSION };
    if (a.action === 'status') {
      const progress = new Progress('agent status', hosts.length, log);
      const results = await forEachHost<AgentStatus>(hosts, runOpts(a), progress, describeAgent, (h) => agentStatus(h, runOpts(a)));
      const skewed = results.filter((r) => r.ok && r.value.agent !== undefined && r.value.agent !== VERSION).map((r) => r.host);
      const silent = results.map((r) => (r.ok && r.value.agent === undefined ? { ...r, ok: false as const, error: { code: r.value.error?.code ?? 'UNREACHABLE', message: r.value.error?.message ?? '' } } : r));
      printResult(a.json, 'agent', { ...head, nodes: view(results), skew: skewed }, formatAgents(results, VERSION));
      return fleetExit(silent, skewed.length > 0 ? EXIT.CHANGES : EXIT.OK);
    }
    if (a.action === 'upgrade' || a.action === 'remove') await confirmOrCancel(a, `agent ${a.action} on ${hosts.length} node${hosts.length === 1 ? '' : 's'}: ${hosts.map((h) => h.name).join(', ')}.`);
    const { default: Docker } = await import('dockerode');
    const local = new Docker();
    const image = a.image ?? AGENT_IMAGE;
    const results: NodeResult<object>[] = [];
    const removed = (v: { removed: boolean; kind: string; kept?: string }) => (v.removed ? `removed (${v.kind}${v.kept ? `; ${v.kept} kept` : ''})` : `no agent ${v.kind === 'systemd' ? 'unit' : 'container'}`);
    const size = a.action === 'upgrade' ? batchSize(a.batch, hosts.length) : hosts.length;
    for (let i = 0; i < hosts.length; i += size) {
      const batch = hosts.slice(i, i + size);
      const progress = new Progress(`agent ${a.action}`, batch.length, log);
      const done: NodeResult<object>[] = a.action === 'remove'
        ? await forEachHost<{ removed: boolean; kind: string }>(batch, { ...runOpts(a), writes: true }, progress, removed, (h) => removeAgent(h))
        : await forEachHost<AgentInstallResult>(batch, { ...runOpts(a), writes: true }, progress, describeInstall, (h) => installAgent(h, { image, local, upgrade: a.action === 'upgrade', executable: a['agent-executable'] }));
      results.push(...done);
      if (a.action === 'upgrade' && done.some((r) => !r.ok)) {
        log.warn({ op: 'agent upgrade' }, `stopping after batch ${i / size + 1}: a node's new agent failed; later batches untouched`);
        break;
      }
    }
    printResult(a.json, 'agent', { ...head, nodes: view(results), skew: [] }, results.map((r) => (!r.ok ? `${r.host}: ${failed(r)}` : `${r.host}: ${'removed' in r.value ? removed(r.value as { removed: boolean; kind: string }) : describeInstall(r.value as AgentInstallResult)}`)).join('\n'));
    return results.length < hosts.length ? EXIT.PARTIAL : fleetExit(results, EXIT.OK);
  },
);
