import { z } from 'zod';
import { loadConfigFile } from './load.js';
import { mac, portName } from './values.js';

/**
 * The VIFs (VM ports) to move onto the integration bridge, from an exported
 * binding list: what `openstack port show -f json` says of a port (id,
 * mac_address, device_id, binding_host_id), or MidoNet's binding export, or
 * our own short names. One entry per port.
 */
const uuidLike = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'is not a UUID');

export const vifSchema = z.strictObject({
  /** The neutron port id: the logical switch port's name in the Northbound, and the Interface's iface-id. */
  port: uuidLike,
  mac,
  /** The instance (nova server) id: the Interface's vm-uuid. */
  vm: uuidLike,
  /** The tap device on the node (default: nova's name, "tap" and the port id's first 11 characters). */
  tap: portName.optional(),
  /** The host the port is bound to: the inventory's host name. */
  host: z.string().min(1),
});

export type Vif = z.output<typeof vifSchema> & { tap: string };

/** The names `openstack port show -f json` uses, mapped to ours; anything else of its output is ignored. */
const OPENSTACK_NAMES: Record<string, keyof z.input<typeof vifSchema>> = {
  id: 'port', mac_address: 'mac', device_id: 'vm', binding_host_id: 'host', 'binding:host_id': 'host',
};

function fromOpenstack(entry: unknown): unknown {
  if (entry === null || typeof entry !== 'object' || !('id' in entry)) return entry;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry)) {
    const ours = OPENSTACK_NAMES[k];
    if (ours) out[ours] = v;
  }
  return out;
}

export const bindingsSchema = z
  .array(z.preprocess(fromOpenstack, vifSchema))
  .superRefine((list, ctx) => {
    const seen = new Map<string, number>();
    list.forEach((v, i) => {
      const tap = tapOf(v);
      for (const [what, key] of [['port', v.port.toLowerCase()], ['tap', `${v.host}/${tap}`]] as const) {
        const first = seen.get(`${what}:${key}`);
        if (first !== undefined) ctx.addIssue({ code: 'custom', message: `is listed twice (entries ${first} and ${i})`, path: [i, what], input: what === 'port' ? v.port : tap });
        seen.set(`${what}:${key}`, i);
      }
    });
  });

/** nova's tap name for a port: what os-vif plugs and libvirt creates. */
export function tapOf(v: { port: string; tap?: string | undefined }): string {
  return v.tap ?? `tap${v.port.slice(0, 11)}`;
}

/** The binding list file (JSON or YAML), checked; each VIF with its tap name filled in. */
export function loadBindings(path: string): Vif[] {
  return loadConfigFile(bindingsSchema, path).map((v) => ({ ...v, tap: tapOf(v) }));
}

/** What the agent is asked to plug on one node: the VIFs without their host. */
export const nodeVifSchema = vifSchema.omit({ host: true }).extend({ tap: portName });
export type NodeVif = z.output<typeof nodeVifSchema>;

/**
 * The Interface external_ids os-vif writes for a VIF on br-int, which
 * ovn-controller binds by (iface-id) and reports on (ovn-installed).
 */
export const IFACE_ID = 'iface-id';
export const OVN_INSTALLED = 'ovn-installed';
/** Ours: marks an Interface this tool plugged, with where its tap was before ("" for no bridge). */
export const PLUGGED_FROM = 'ovn-chassis-plugged-from';

export function vifExternalIds(v: NodeVif, from: string): Record<string, string> {
  return { [IFACE_ID]: v.port, 'attached-mac': v.mac.toLowerCase(), 'iface-status': 'active', 'vm-uuid': v.vm, [PLUGGED_FROM]: from };
}
