import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_DB, CONFIG_DB_FILE, renderConfigDbSchema } from '../schemas/config-db.js';
import { OvsdbCluster } from './ovsdb-cluster.js';
import { type Spawned, spawnServer, tempDir } from './procs.js';

/** The project's schema file for the config database, written where a server can read it. */
export function configDbSchemaFile(): string {
  const schema = join(tempDir('config-db-schema'), CONFIG_DB_FILE);
  writeFileSync(schema, renderConfigDbSchema());
  return schema;
}

/** Pull mode's config database as operators start it: a Raft cluster of its own (3 members), from the project's schema file. */
export function startConfigDb(size = 3): Promise<OvsdbCluster> {
  return OvsdbCluster.start(configDbSchemaFile(), CONFIG_DB, size);
}

/** A node's agent in pull mode (`ovn-chassis-agent serve --pull`), as the agent unit would run it. */
export function startPullAgent(agentBin: string, node: { name: string; stateDir: string; ovsdb: { unix: string } }, endpoints: string[], host = node.name): Spawned {
  return spawnServer(process.execPath, [agentBin, 'serve', '--pull', endpoints.join(','), '--host', host, '--db', node.ovsdb.unix, '--state-dir', node.stateDir]);
}
