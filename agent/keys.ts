import { SSL_SETTING } from '../schemas/chassis.js';

/** Where the agent keeps its ownership record: in the node's own OVSDB, so it cannot drift from the data. */
export const MANAGED_KEYS = 'ovn-chassis-managed-keys';
export const MANAGED_CMS = 'ovn-chassis-managed-cms';
export const CMS_OPTIONS = 'ovn-cms-options';
export const SYSTEM_ID = 'system-id';

/** Keys current OVN accepts but does not act on. */
export const IGNORED_KEYS: Record<string, string> = {
  'ovn-openflow-probe-interval': 'is ignored by ovn-controller since OVN 24.03',
  'ovn-nb': 'is never read by ovn-controller',
};

/**
 * Values that differ in spelling only, and that ovn-controller reads the same:
 * not a change. (MACs are parsed case-insensitively; a node set up by hand or
 * by another tool often holds them in upper case.)
 */
const SAME_VALUE: Record<string, (a: string, b: string) => boolean> = {
  'ovn-chassis-mac-mappings': (a, b) => a.toLowerCase() === b.toLowerCase(),
};

export function sameValue(key: string, a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a === b || (SAME_VALUE[key]?.(a, b) ?? false);
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
