import { join } from 'node:path';
import { AgentError } from './errors.js';
import type { NodeAccess } from './node.js';
import type { Backend } from './state.js';

export interface BackupResult {
  path: string;
  bytes: number;
}

/**
 * The node's whole Open vSwitch database, as `ovsdb-client backup` writes it,
 * saved in the state dir before a rollout's first change: what `ovsdb-client
 * restore` puts back if everything else fails.
 */
export async function backupDatabase(backend: Backend, node: NodeAccess, stateDir: string): Promise<BackupResult> {
  const r = await backend.backup(node);
  if (r.code !== 0) throw new AgentError('BACKEND_FAILED', `ovsdb-client backup failed: ${r.stderr.trim().slice(0, 500) || `exit ${r.code ?? 'by signal'}`}`);
  // A database file starts with its header; anything else (output cut short, another program's words) is not one.
  if (!/^OVSDB (JSON|CLUSTER) \d+ [0-9a-f]+\n/.test(r.stdout)) throw new AgentError('BACKEND_FAILED', `ovsdb-client backup gave ${r.stdout.length} bytes that are not a whole database file`);
  const dir = join(stateDir, 'backups');
  await node.files.mkdir(dir, 0o700);
  const path = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.db`);
  await node.files.writeAtomic(path, r.stdout, 0o600);
  return { path, bytes: Buffer.byteLength(r.stdout) };
}
