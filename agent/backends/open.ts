import type { AgentBackend } from '../../schemas/backend.js';
import { AgentError } from '../errors.js';
import { type NodeAccess, localNode } from '../node.js';
import type { Backend } from '../state.js';
import { dockerVsctl } from './docker.js';
import { OvsdbBackend } from './ovsdb.js';
import { localVsctl } from './vsctl.js';

/**
 * Opens the backend a node's agent was told to use, on the node `opts.node`
 * reaches (default: this machine). `reconnect` is for the long-lived daemon.
 */
export async function openBackend(spec: AgentBackend, opts: { reconnect?: boolean; node?: NodeAccess } = {}): Promise<Backend> {
  const node = opts.node ?? localNode;
  switch (spec.backend) {
    case 'ovsdb': {
      const tls = spec.sslKey || spec.sslCert || spec.sslCa;
      if (tls && !(spec.sslKey && spec.sslCert && spec.sslCa)) {
        throw new AgentError('INVALID_CONFIG', 'ssl needs all three of --ssl-key, --ssl-cert and --ssl-ca');
      }
      return OvsdbBackend.connect(spec.db, {
        ...(tls ? { tls: { key: spec.sslKey as string, cert: spec.sslCert as string, ca: spec.sslCa as string } } : {}),
        ...(opts.reconnect ? { reconnect: true } : {}),
        ...(node.dial ? { dial: node.dial } : {}),
      });
    }
    case 'docker':
      return dockerVsctl(spec.container, await node.docker(spec.dockerSocket), spec.dockerSocket);
    case 'vsctl':
      if (node !== localNode) throw new AgentError('INVALID_CONFIG', 'the vsctl backend runs ovs-vsctl beside the agent; reaching a node without one, use the ovsdb backend (its OVSDB socket) or the docker backend');
      return localVsctl(spec.path);
  }
}
