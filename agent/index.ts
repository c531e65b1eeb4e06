/**
 * The agent as the controller may use it: one node's logic (a session that
 * answers the RPC protocol, on a node reached locally or over SSH), where a
 * node keeps its state, and what the controller shows of a node's plan.
 * Everything else in agent/ is the agent's own business.
 */
export { openBackend } from './backends/open.js';
export { DockerApi } from './docker-api.js';
export { splitList } from './keys.js';
export { type FileInfo, type NodeAccess, type NodeFiles, type NodeInterface, type RunResult, localNode, namespaceNode, parseIpAddr } from './node.js';
export { RpcSession } from './rpc.js';
export { DEFAULT_STATE_DIR, agentSocketIn, connectServing } from './serving.js';
export { secureStateDir } from './files.js';
export { AGENT_EXECUTABLE, DEFAULT_WRITABLE, UNIT_NAME, agentUnit } from './unit.js';
export { formatPlan, showSettings } from './view.js';
