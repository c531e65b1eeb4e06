import type { ColumnType, TableSchema } from '../../ovsdb/index.js';

const UUID: ColumnType = { key: { type: 'uuid' }, min: 1, max: 1 };
const STRING: ColumnType = { key: { type: 'string' }, min: 1, max: 1 };
const BOOLEAN: ColumnType = { key: { type: 'boolean' }, min: 1, max: 1 };
const STRING_MAP: ColumnType = { key: { type: 'string' }, value: { type: 'string' }, min: 0, max: Infinity };
const UUID_SET: ColumnType = { key: { type: 'uuid' }, min: 0, max: Infinity };
const OPTIONAL_UUID: ColumnType = { key: { type: 'uuid' }, min: 0, max: 1 };
const OPTIONAL_STRING: ColumnType = { key: { type: 'string' }, min: 0, max: 1 };

const table = (name: string, columns: Record<string, ColumnType>): TableSchema => ({ name, columns: { _uuid: UUID, ...columns }, isRoot: false, indexes: [] });

/**
 * The Open_vSwitch columns the agent reads, typed as vswitch.ovsschema has
 * typed them since Open vSwitch 1.x. Both backends decode with these, so a
 * node's read needs no schema fetched and parsed first; a server whose
 * columns differ answers the select with an error, never a misread value.
 */
export const COLUMNS = {
  Open_vSwitch: table('Open_vSwitch', { external_ids: STRING_MAP, other_config: STRING_MAP, ssl: OPTIONAL_UUID, manager_options: UUID_SET, ovs_version: OPTIONAL_STRING }),
  Bridge: table('Bridge', { name: STRING, ports: UUID_SET, datapath_type: STRING, fail_mode: OPTIONAL_STRING }),
  Port: table('Port', { name: STRING, interfaces: UUID_SET }),
  Interface: table('Interface', { name: STRING, external_ids: STRING_MAP }),
  SSL: table('SSL', { private_key: STRING, certificate: STRING, ca_cert: STRING, bootstrap_ca_cert: BOOLEAN }),
  Manager: table('Manager', { target: STRING }),
};
