/** Failures of the agent, with a code a caller (the CLI, the controller over RPC) can switch on. */
export type AgentErrorCode =
  | 'INVALID_CONFIG'
  | 'UNREACHABLE'
  | 'NOT_INITIALISED'
  | 'CONFLICT'
  | 'CONFLICT_UNRESOLVED'
  | 'REFUSED'
  | 'BACKEND_FAILED'
  | 'NO_SNAPSHOT'
  | 'HOOK_FAILED'
  | 'PROTOCOL'
  | 'PROTOCOL_UNSUPPORTED'
  | 'INTERNAL'
  | 'UNSAFE'
  | 'OUTCOME_UNKNOWN'
  | 'STATE_DIR_FAILED'
  /** The bridge a request names does not exist (yet): VIFs wait for ovn-controller to make br-int. */
  | 'NO_BRIDGE'
  /** A saved plan no longer holds for this node: it changed since the plan was made. */
  | 'PLAN_STALE'
  /** A value the config leaves to the node (an encap IP by interface or network) has no one answer there. */
  | 'UNRESOLVED';

export class AgentError extends Error {
  readonly code: AgentErrorCode;

  constructor(code: AgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentError';
    this.code = code;
  }
}
