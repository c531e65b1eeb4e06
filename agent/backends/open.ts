import type { AgentBackend } from '../../schemas/backend.js';
import { AgentError } from '../errors.js';
import type { Backend } from '../state.js';
import { OvsdbBackend } from './ovsdb.js';
import { localVsctl } from './vsctl.js';

/** Opens the backend a node's agent was told to use. `reconnect` is for the long-lived daemon. */
export async function openBackend(spec: AgentBackend, opts: { reconnect?: boolean } = {}): Promise<Backend> {
  switch (spec.backend) {
    case 'ovsdb': {
      const tls = spec.sslKey || spec.sslCert || spec.sslCa;
      if (tls && !(spec.sslKey && spec.sslCert && spec.sslCa)) {
        throw new AgentError('INVALID_CONFIG', 'ssl needs all three of --ssl-key, --ssl-cert and --ssl-ca');
      }
      return OvsdbBackend.connect(spec.db, {
        ...(tls ? { tls: { key: spec.sslKey as string, cert: spec.sslCert as string, ca: spec.sslCa as string } } : {}),
        ...(opts.reconnect ? { reconnect: true } : {}),
      });
    }
    case 'docker':
      // Loaded only for nodes that use it: the Docker client is most of the agent's start-up time.
      return (await import('./docker.js')).dockerVsctl(spec.container, spec.dockerSocket);
    case 'vsctl':
      return localVsctl(spec.path);
  }
}
