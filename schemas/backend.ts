import { z } from 'zod';
import { endpoint } from './chassis.js';

/** Kolla's Open vSwitch container, and Docker's own API socket. */
export const DEFAULT_OVS_CONTAINER = 'openvswitch_vswitchd';
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** Which backend a node's agent uses (agent CLI flags, inventory `agent:`). */
export const agentBackendSchema = z.discriminatedUnion('backend', [
  z.strictObject({
    backend: z.literal('ovsdb'),
    db: endpoint.default('unix:/var/run/openvswitch/db.sock'),
    sslKey: z.string().optional(),
    sslCert: z.string().optional(),
    sslCa: z.string().optional(),
  }),
  z.strictObject({
    backend: z.literal('docker'),
    container: z.string().min(1).default(DEFAULT_OVS_CONTAINER),
    dockerSocket: z.string().min(1).default(DEFAULT_DOCKER_SOCKET),
  }),
  z.strictObject({ backend: z.literal('vsctl'), path: z.string().min(1).default('ovs-vsctl') }),
]);

export type AgentBackend = z.output<typeof agentBackendSchema>;

/** The agent command-line flags that select this backend (what the controller passes over SSH). */
export function backendArgs(b: AgentBackend): string[] {
  switch (b.backend) {
    case 'ovsdb':
      return [
        '--db', b.db,
        ...(b.sslKey ? ['--ssl-key', b.sslKey] : []),
        ...(b.sslCert ? ['--ssl-cert', b.sslCert] : []),
        ...(b.sslCa ? ['--ssl-ca', b.sslCa] : []),
      ];
    case 'docker':
      return ['--docker', b.container, '--docker-socket', b.dockerSocket];
    case 'vsctl':
      return ['--vsctl', b.path];
  }
}
