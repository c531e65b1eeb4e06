import { type BridgeSpec, type ChassisConfig, asList } from '../schemas/chassis.js';
import { SSL_KEY, encodeSsl } from './keys.js';

/** What one node's config means for its OVSDB: the keys and cms tokens the agent owns, and bridges. */
export interface Desired {
  systemId: string;
  keys: Record<string, string>;
  cmsTokens: string[];
  bridges: BridgeSpec[];
}

const bool = (b: boolean) => (b ? 'true' : 'false');

export function render(c: ChassisConfig): Desired {
  const keys: Record<string, string> = {
    'system-id': c.systemId,
    'ovn-remote': asList(c.ovnRemote).join(','),
    'ovn-encap-type': asList(c.encap.type).join(','),
    'ovn-encap-ip': asList(c.encap.ip).join(','),
  };
  if (c.hostname !== undefined) keys.hostname = c.hostname;
  if (c.ovnNb !== undefined) keys['ovn-nb'] = asList(c.ovnNb).join(',');
  if (c.encap.csum !== undefined) keys['ovn-encap-csum'] = bool(c.encap.csum);
  if (c.bridgeMappings && Object.keys(c.bridgeMappings).length > 0) {
    keys['ovn-bridge-mappings'] = Object.entries(c.bridgeMappings).map(([p, b]) => `${p}:${b}`).join(',');
  }
  if (c.remoteProbeIntervalMs !== undefined) keys['ovn-remote-probe-interval'] = String(c.remoteProbeIntervalMs);
  if (c.openflowProbeIntervalS !== undefined) keys['ovn-openflow-probe-interval'] = String(c.openflowProbeIntervalS);
  if (c.monitorAll !== undefined) keys['ovn-monitor-all'] = bool(c.monitorAll);
  if (c.chassisMacMappings && Object.keys(c.chassisMacMappings).length > 0) {
    keys['ovn-chassis-mac-mappings'] = Object.entries(c.chassisMacMappings).map(([p, m]) => `${p}:${m.toLowerCase()}`).join(',');
  }
  if (c.transportZones && c.transportZones.length > 0) keys['ovn-transport-zones'] = c.transportZones.join(',');
  Object.assign(keys, c.extraExternalIds ?? {});
  if (c.ssl && 'privateKey' in c.ssl) {
    keys[SSL_KEY] = encodeSsl({ privateKey: c.ssl.privateKey, certificate: c.ssl.certificate, caCert: c.ssl.caCert, bootstrapCaCert: c.ssl.bootstrapCaCert === true });
  }

  const cms: string[] = [];
  if (c.gateway) cms.push('enable-chassis-as-gw');
  if (c.availabilityZones && c.availabilityZones.length > 0) cms.push(`availability-zones=${c.availabilityZones.join(':')}`);
  cms.push(...(c.cmsOptions ?? []));

  const bridges = c.bridges ?? [...new Set(Object.values(c.bridgeMappings ?? {}))].map((name) => ({ name }));
  return { systemId: c.systemId, keys, cmsTokens: [...new Set(cms)], bridges };
}
