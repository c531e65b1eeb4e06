import { SSL_SETTING } from '../schemas/chassis.js';
import { KEY_ROWS } from '../schemas/keys.js';

/** Where the agent keeps its ownership record: in the node's own OVSDB, so it cannot drift from the data. */
export const MANAGED_KEYS = 'ovn-chassis-managed-keys';
export const MANAGED_CMS = 'ovn-chassis-managed-cms';
export const CMS_OPTIONS = 'ovn-cms-options';
export const SYSTEM_ID = 'system-id';

/** Whether two values of a key are the same to ovn-controller (spelling aside, as the key table says). */
export function sameValue(key: string, a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a === b || (KEY_ROWS.get(key)?.same?.(a, b) ?? false);
}

export function splitList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * The node's SSL row (Open_vSwitch.ssl, what `ovs-vsctl set-ssl` writes) is
 * owned, diffed, snapshotted and rolled back as one more setting under this
 * name, beside the external_ids keys. It cannot be an external_ids key of ours:
 * key names we write never start with "@".
 */
export const SSL_KEY = SSL_SETTING;

/** The value of a Manager target's setting (MANAGER_SETTING + target): it is there. */
export const MANAGER_PRESENT = 'present';

export interface SslRow {
  privateKey: string;
  certificate: string;
  caCert: string;
  bootstrapCaCert: boolean;
}

/** An SSL row as read from a node, with its row uuid so a write can be guarded by it. */
export type SslState = SslRow & { uuid: string };

/** One string for the row: stable for comparison, exact for any path, readable in a plan. */
export function encodeSsl(r: SslRow): string {
  return JSON.stringify({ private_key: r.privateKey, certificate: r.certificate, ca_cert: r.caCert, bootstrap_ca_cert: r.bootstrapCaCert });
}

export function decodeSsl(text: string): SslRow {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text) as Record<string, unknown>;
  } catch {
    j = {};
  }
  const { private_key: privateKey, certificate, ca_cert: caCert, bootstrap_ca_cert: bootstrapCaCert } = j;
  if (typeof privateKey !== 'string' || typeof certificate !== 'string' || typeof caCert !== 'string' || typeof bootstrapCaCert !== 'boolean') {
    throw new Error(`${JSON.stringify(text)} is not an SSL row setting`);
  }
  return { privateKey, certificate, caCert, bootstrapCaCert };
}
