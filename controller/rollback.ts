import { showSettings } from '../agent/index.js';
import { ControllerError, afterChange } from './errors.js';
import { type NodeResult, type RunOptions, forEachNode } from './fleet.js';
import type { Host } from './inventory.js';
import { type Journal, checkJournalHosts } from './journal.js';
import { Progress } from './progress.js';
import type { AgentClient } from './transport/client.js';
import { integrationBridge } from './workloads.js';

export interface RollbackOutcome {
  restored: Record<string, string | null>;
  /** VIFs taken off the integration bridge and put back where they were. */
  unplugged: number;
  hooks: number;
  source: 'journal' | 'agent snapshot';
}

/**
 * Puts each node back: from the rollout journal's record of what its apply
 * replaced, or else from the agent's own snapshot; then its rollback hooks;
 * then reads the node again and fails the node if a key still differs.
 */
export async function rollbackFleet(hosts: Host[], opts: RunOptions, journal?: Journal): Promise<NodeResult<RollbackOutcome>[]> {
  if (journal) checkJournalHosts(journal, hosts);
  const history = journal?.history;
  const progress = new Progress('rollback', hosts.length, opts.log);
  return forEachNode<RollbackOutcome>(hosts, { ...opts, writes: true }, progress, (v) => `restored ${Object.keys(v.restored).length} keys`, async (host, agent) => {
    const previous = history?.get(host.name)?.previous;
    const { restored, unplugged } = await putBack(host, agent, previous);
    return afterChange(async (): Promise<RollbackOutcome> => {
      // The journal asked for these keys: an agent that says it restored others is not believed.
      const asked = previous ? Object.keys(previous) : undefined;
      const strays = asked ? Object.keys(restored).filter((k) => !asked.includes(k)) : [];
      if (strays.length > 0) throw new ControllerError('PROTOCOL', `${host.name}: the agent says it restored keys the journal never asked for (${strays.join(', ')})`);
      for (const h of host.hooks.rollback ?? []) await agent.hook(h);
      const now = showSettings(await agent.show());
      const wrong = Object.entries(restored).filter(([k, v]) => (now[k] ?? null) !== v);
      if (wrong.length > 0) throw new ControllerError('NOT_VERIFIED', `${host.name}: after the rollback ${wrong.map(([k]) => k).join(', ')} still differ from the previous values`);
      await journal?.append({ type: 'node', host: host.name, state: 'rolled-back' });
      return { restored, unplugged, hooks: (host.hooks.rollback ?? []).length, source: previous ? 'journal' : 'agent snapshot' };
    });
  });
}

/**
 * A node back as it was before the rollout: the VIFs this tool plugged off
 * the integration bridge and back on their old bridges first (so VMs are on
 * a path while the chassis goes), then the keys — from the journal's record
 * of what the apply replaced, or the agent's own snapshot.
 */
export async function putBack(host: Host, agent: AgentClient, previous: Record<string, string | null> | undefined): Promise<{ restored: Record<string, string | null>; unplugged: number }> {
  const { unplugged } = await agent.unplug(integrationBridge(host.chassis));
  const restore = async () => (previous ? await agent.restore(previous) : (await agent.rollback()).restored);
  // Once a VIF moved back, a failure to restore the keys failed on a changed node.
  const restored = unplugged.length > 0 ? await afterChange(restore) : await restore();
  return { restored, unplugged: unplugged.length };
}
