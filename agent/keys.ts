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

export function splitList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}
