import type { Row } from '../ovsdb/index.js';
import type { Host } from './inventory.js';

/**
 * Whether the controller may delete a chassis from the Southbound after a
 * node's apply reported the system-id it replaced. The report comes from the
 * node, and a node (compromised or buggy) must not be able to unregister any
 * chassis but its own former one: so the operator must have allowed an id
 * change, the old id must differ from the new one, no other inventory host
 * may claim it, and the Southbound row by that name (if any) must carry this
 * host's own hostname. Pure, so every refusal is proven by a unit test.
 */
export type StrandedVerdict = { remove: string } | { keep: string; why: string } | undefined;

export function strandedChassis(
  host: Host,
  reportedOldId: string | undefined,
  ctx: { allowSystemIdChange: boolean; claimedBy: Map<string, string>; sbRow: Row | undefined },
): StrandedVerdict {
  if (reportedOldId === undefined || reportedOldId === host.chassis.systemId) return undefined;
  const keep = (why: string): StrandedVerdict => ({ keep: reportedOldId, why: `${host.name}: the agent reported ${reportedOldId} as the system-id it replaced, but ${why}; that chassis was not removed from the Southbound DB` });
  if (!ctx.allowSystemIdChange) return keep('no --allow-system-id-change was given');
  const owner = ctx.claimedBy.get(reportedOldId);
  if (owner !== undefined && owner !== host.name) return keep(`it is the system-id of inventory host ${owner}`);
  const hostname = host.chassis.hostname ?? host.name;
  const sbHostname = ctx.sbRow?.hostname;
  if (ctx.sbRow && sbHostname !== hostname) return keep(`the Southbound chassis of that name belongs to host ${String(sbHostname)}, not ${hostname}`);
  return { remove: reportedOldId };
}
