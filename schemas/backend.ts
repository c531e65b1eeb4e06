import { z } from 'zod';
import { dirname } from 'node:path';
import { endpoint } from './chassis.js';
import { parseEndpointText } from './endpoint.js';

/** Kolla's Open vSwitch container, and Docker's own API socket. */
export const DEFAULT_OVS_CONTAINER = 'openvswitch_vswitchd';
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** Docker's own rule for container names; it also keeps a name from being read as a flag. */
const containerName = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'is not a Docker container name (letters, digits, _ . -, not starting with - . or _)');
/** A path or command name handed to the agent as an argument: never one that reads as a flag, never a control character. */
const argValue = z.string().min(1).refine((s) => !s.startsWith('-'), 'must not start with "-"').refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'holds a control character');

/**
 * How `ovn-chassis agent install` puts the agent on the node: the container
 * `ovn_chassis_agent` through the node's Docker API, or the single executable
 * and a systemd unit. Default: container when the backend is docker, else systemd.
 */
const install = z.enum(['container', 'systemd']).optional();
/** Where on the node the systemd kind's files go (default /): image-based hosts with a writable root elsewhere. */
const installRoot = z.string().startsWith('/', 'must be an absolute path').optional();

/** The installed agent takes its desired config from the inventory's configDb (pull mode, docs/pull.md) instead of a file the controller writes. */
const pull = z.boolean().optional();

/** Which backend a node's agent uses (agent CLI flags, inventory `agent:`). */
export const agentBackendSchema = z.discriminatedUnion('backend', [
  z.strictObject({
    backend: z.literal('ovsdb'),
    db: endpoint.default('unix:/var/run/openvswitch/db.sock'),
    sslKey: argValue.optional(),
    sslCert: argValue.optional(),
    sslCa: argValue.optional(),
    install,
    installRoot,
    pull,
    /** The node's Docker API, for install: container. */
    dockerSocket: argValue.optional(),
  }),
  z.strictObject({
    backend: z.literal('docker'),
    container: containerName.default(DEFAULT_OVS_CONTAINER),
    dockerSocket: argValue.default(DEFAULT_DOCKER_SOCKET),
    install,
    installRoot,
    pull,
  }),
  z.strictObject({ backend: z.literal('vsctl'), path: argValue.default('ovs-vsctl'), install, installRoot, pull }),
]);

export function installKind(b: AgentBackend): 'container' | 'systemd' {
  return b.install ?? (b.backend === 'docker' ? 'container' : 'systemd');
}

export type AgentBackend = z.output<typeof agentBackendSchema>;

/** The directory of the node's OVSDB socket, for a backend that reaches it on a unix socket (what an installed agent must be able to reach). */
export function ovsdbSocketDir(b: AgentBackend): string | undefined {
  if (b.backend !== 'ovsdb') return undefined;
  const ep = parseEndpointText(b.db);
  return typeof ep !== 'string' && ep.kind === 'unix' ? dirname(ep.path) : undefined;
}

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
