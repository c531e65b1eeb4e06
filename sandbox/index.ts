/**
 * The sandbox, and the real servers it is made of: the one module tests,
 * the demo, the bench and `npm run sandbox` use. Each server is started by
 * its own module here (ovsdb-server, a Raft cluster, ovn-controller, sshd,
 * dockerd, a systemd node, the registrar, the agent host) and stopped by the
 * process registry in procs, so nothing outlives a run.
 */
export * from './agent-host.js';
export * from './datapath.js';
export * from './dockerd.js';
export * from './ovn-controller.js';
export * from './ovsdb-cluster.js';
export * from './ovsdb-server.js';
export * from './procs.js';
export * from './registrar.js';
export * from './sandbox.js';
export * from './sshd.js';
export * from './systemd-node.js';
export * from './tcp-proxy.js';
export * from './pki.js';
export * from './modes.js';
export * from './config-db.js';
export * from './pull-agent-host.js';
