import { showSettings } from '../agent/index.js';
import { ControllerError, afterChange } from './errors.js';
import { type NodeResult, type RunOptions, forEachNode } from './fleet.js';
import type { Host } from './inventory.js';
import { type Journal, checkJournalHosts } from './journal.js';
import { Progress } from './progress.js';
import type { AgentClient } from './transport/client.js';
import { integrationBridge } from './workloads.js';
import { movesFromRecord, setPriorities } from './gateways.js';
import type { OvsdbClient } from '../ovsdb/index.js';

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
export async function rollbackFleet(hosts: Host[], opts: RunOptions, journal?: Journal, nb?: OvsdbClient): Promise<NodeResult<RollbackOutcome>[]> {
  if (journal) checkJournalHosts(journal, hosts);
  const history = journal?.history;
  const progress = new Progress('rollback', hosts.length, opts.log);
  return forEachNode<RollbackOutcome>(hosts, { ...opts, writes: true }, progress, (v) => `restored ${Object.keys(v.restored).length} keys`, async (host, agent) => {
    const previous = history?.get(host.name)?.previous;
    const drained = history?.get(host.name)?.drained;
    if (drained && !nb) throw new ControllerError('REFUSED', `${host.name}: the journal shows its gateway priorities lowered and not put back, and the inventory names no ovn.northbound to restore them in`);
    const { restored, unplugged } = await putBack(host, agent, previous, drained && nb ? { nb, drained } : undefined);
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
export async function putBack(
  host: Host, agent: AgentClient, previous: Record<string, string | null> | undefined, gateways?: { nb: OvsdbClient; drained: Record<string, string> },
): Promise<{ restored: Record<string, string | null>; unplugged: number; gateways: number }> {
  const { unplugged } = await agent.unplug(integrationBridge(host.chassis));
  const restoreKeys = async () => (previous ? await agent.restore(previous) : (await agent.rollback()).restored);
  // Once a VIF moved back, a failure to restore the keys failed on a changed node.
  const restored = unplugged.length > 0 ? await afterChange(restoreKeys) : await restoreKeys();
  // Priorities a drain lowered and nothing put back yet: back as they were, once the node is; a failure here follows a change.
  const moves = gateways ? movesFromRecord(gateways.drained) : [];
  if (gateways) await afterChange(() => setPriorities(gateways.nb, moves, 'restore'));
  return { restored, unplugged: unplugged.length, gateways: moves.length };
}
