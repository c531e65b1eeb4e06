import type { Row } from './schema.js';

/**
 * Whether a server may serve a session, judged from its own `_Server`
 * database row for the database we use (ovsdb-server(5) "_Server" schema),
 * as OVS's own clients judge it. Pure, so each rule is tested without a server.
 *
 * - a clustered member that reports itself cut off from its cluster may hold
 *   data the cluster has since changed: never used;
 * - a member whose data is older (`index`) than data this session has already
 *   seen would take the session back in time: never used;
 * - a relay that reports itself cut off from its source: never used;
 * - with `leaderOnly`, a follower is not used (writes go to the leader);
 *   a relay or standalone server has no leader to prefer and is accepted.
 */
export type ServerVerdict = { usable: true; index: number | undefined } | { usable: false; reason: string };

export const SERVER_DB = '_Server';
export const SERVER_COLUMNS = ['name', 'model', 'connected', 'leader', 'index'];

export function judgeServer(row: Row | undefined, database: string, opts: { leaderOnly: boolean; minIndex: number }): ServerVerdict {
  if (!row) return { usable: false, reason: `it does not serve database ${database}` };
  // A relay that says it lost its source holds data that may be stale, as python-ovs judges it. (One that says it is connected may still be cut off: its readers prove it.)
  if (row.model === 'relay' && row.connected !== true) return { usable: false, reason: `it is a relay not connected to its source (its ${database} may be stale)` };
  if (row.model !== 'clustered') return { usable: true, index: undefined };
  if (row.connected !== true) return { usable: false, reason: `it is not connected to its cluster (its ${database} may be stale)` };
  if (opts.leaderOnly && row.leader !== true) return { usable: false, reason: 'it is not the cluster leader' };
  const index = Array.isArray(row.index) && typeof row.index[0] === 'number' ? row.index[0] : undefined;
  if (index !== undefined && index < opts.minIndex) {
    return { usable: false, reason: `its data (index ${index}) is older than data already seen (index ${opts.minIndex})` };
  }
  return { usable: true, index };
}
