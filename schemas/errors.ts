/**
 * Input that fails validation. `issues` are ready to print, one per problem,
 * each naming the field path and the bad value, e.g.
 * `encap.ip: "10.0.0.300" is not an IPv4 or IPv6 address`.
 */
export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG';
  readonly issues: string[];

  constructor(source: string, issues: string[]) {
    super(`${source} is invalid:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/**
 * Every error code either command prints (its `--json` `error.code`, a
 * node's failure): what it means, and what a person can do about it. The
 * controller's and the agent's typed errors draw their codes from here.
 */
export const ERROR_CODES = {
  USAGE: { meaning: 'the command line is wrong', hint: 'run the command with --help for its usage and examples' },
  INVALID_CONFIG: { meaning: 'a file or a flag failed validation', hint: 'fix what the message names; for an inventory, ovn-chassis validate -i INVENTORY lists every problem' },
  CANCELLED: { meaning: 'the operator answered no at the prompt; nothing was changed' },
  REFUSED: { meaning: 'a safety rule refused the change; the node was left as it was', hint: 'the message names the rule and the flag that allows it, where one does' },
  UNREACHABLE: { meaning: 'a node, its agent or a database could not be reached', hint: 'check the address, that the server runs, and the TLS or SSH settings the message names' },
  TIMEOUT: { meaning: 'a node did not finish within --timeout', hint: 'raise --timeout, or look at the node: it may be slow or stuck' },
  CONNECTION_LOST: { meaning: 'the connection to a node broke during the command' },
  AUTH_FAILED: { meaning: 'the node refused the SSH login', hint: 'check the user and key the inventory names' },
  HOST_KEY_UNKNOWN: { meaning: 'the node\'s SSH host key is not in the known-hosts file', hint: 'ovn-chassis hostkeys -i INVENTORY collects the fleet\'s keys (trust on first use)' },
  HOST_KEY_CHANGED: { meaning: 'the node\'s SSH host key differs from the pinned one', hint: 'find out why before trusting it; then replace its line in the known-hosts file' },
  PROTOCOL: { meaning: 'a peer answered outside its protocol' },
  PROTOCOL_MISMATCH: { meaning: 'the agent on the node speaks another protocol version', hint: 'ovn-chassis agent upgrade -i INVENTORY --limit HOST' },
  PROTOCOL_UNSUPPORTED: { meaning: 'the agent does not speak the protocol asked for', hint: 'upgrade the older side so both are the same release' },
  AGENT_ERROR: { meaning: 'the node\'s agent failed' },
  AGENT_UNHEALTHY: { meaning: 'an installed agent does not answer its health check' },
  AGENT_NOT_STARTED: { meaning: 'an installed agent did not start' },
  AGENT_NOT_INSTALLED: { meaning: 'no agent is installed on the node', hint: 'ovn-chassis agent install -i INVENTORY --limit HOST' },
  AGENT_SERVING: { meaning: 'an agent serves the node and would undo a change made beside it' },
  BACKEND_FAILED: { meaning: 'the node\'s Open vSwitch database (or ovs-vsctl, or docker) failed a request' },
  NOT_INITIALISED: { meaning: 'the node\'s Open vSwitch database has no Open_vSwitch row yet', hint: 'start ovs-vswitchd (or ovs-vsctl init) first' },
  CONFLICT: { meaning: 'the node changed between read and write' },
  CONFLICT_UNRESOLVED: { meaning: 'the node kept changing under every retry', hint: 'find what else writes the node\'s Open_vSwitch row' },
  NO_SNAPSHOT: { meaning: 'there is no snapshot to roll back to' },
  HOOK_FAILED: { meaning: 'a hook exited non-zero or timed out' },
  UNSAFE: { meaning: 'a file or directory has unsafe ownership or permissions' },
  STATE_DIR_FAILED: { meaning: 'the agent\'s state directory could not be written' },
  NO_BRIDGE: { meaning: 'a bridge a request names does not exist (yet)' },
  PLAN_STALE: { meaning: 'the node changed since the saved plan was made; it was left untouched', hint: 'make a new plan (diff -o) and review it' },
  UNRESOLVED: { meaning: 'a value left to the node (an encap IP by interface or network) has no single answer there' },
  NOT_VERIFIED: { meaning: 'the Southbound DB did not show the node\'s chassis (or its VIFs) as configured in time', hint: 'ovn-chassis status -i INVENTORY --limit HOST shows what differs' },
  NOT_PROVEN: { meaning: 'the result could not be proved' },
  OUTCOME_UNKNOWN: { meaning: 'a write was sent but its answer lost: the node may have been changed', hint: 'ovn-chassis diff -i INVENTORY --limit HOST shows where it stands' },
  JOURNAL_FAILED: { meaning: 'the rollout journal could not be written or read' },
  PREFLIGHT_FAILED: { meaning: 'a node is not ready to migrate (MTU, tunnel reach, nova\'s host name, versions, gateways left)' },
  DRAIN_FAILED: { meaning: 'a gateway\'s router ports could not be moved to the other gateways, or back' },
  PUBLISH_CONFLICT: { meaning: 'another publish wrote a host\'s desired row between this one\'s read and write; nothing was written', hint: 'publish again: it starts from what the config database holds now' },
  NOT_APPLIED: { meaning: 'a pulling agent did not report the published config applied in time', hint: 'ovn-chassis status -i INVENTORY --pull, then the agent\'s own log on the node (ovn-chassis-agent serve --pull)' },
  INTERNAL: { meaning: 'a fault of this tool', hint: 'please report it with the command and its --log-json output' },
} as const satisfies Record<string, { meaning: string; hint?: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** What a lower layer's code (the OVSDB client's, Node's) is, in this tool's vocabulary. */
const FOREIGN_CODES: Record<string, ErrorCode> = {
  CONNECT_FAILED: 'UNREACHABLE', TLS_ERROR: 'UNREACHABLE', CONNECTION_CLOSED: 'CONNECTION_LOST', NOT_CONNECTED: 'UNREACHABLE',
  PROTOCOL_ERROR: 'PROTOCOL', MESSAGE_TOO_LARGE: 'PROTOCOL', REQUEST_TIMEOUT: 'TIMEOUT', PROBE_TIMEOUT: 'TIMEOUT',
  SERVER_UNUSABLE: 'UNREACHABLE', RPC_ERROR: 'BACKEND_FAILED', OPERATION_FAILED: 'BACKEND_FAILED', SCHEMA_ERROR: 'BACKEND_FAILED',
  INVALID_ENDPOINT: 'INVALID_CONFIG', INVALID_ARGUMENT: 'INVALID_CONFIG', CANCELED: 'CONNECTION_LOST',
  ECONNREFUSED: 'UNREACHABLE', EHOSTUNREACH: 'UNREACHABLE', ETIMEDOUT: 'TIMEOUT', ECONNRESET: 'CONNECTION_LOST', EPIPE: 'CONNECTION_LOST',
};

export const isErrorCode = (code: unknown): code is ErrorCode => typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);

/** Any error's code in this tool's vocabulary; what it cannot name is INTERNAL. */
export function errorCodeOf(err: unknown): ErrorCode {
  const code = (err as { code?: unknown } | null)?.code;
  if (isErrorCode(code)) return code;
  return (typeof code === 'string' && FOREIGN_CODES[code]) || 'INTERNAL';
}

/** What a person can do about an error with this code, when there is something to say. */
export function hintOf(code: ErrorCode): string | undefined {
  const entry = ERROR_CODES[code];
  return 'hint' in entry ? entry.hint : undefined;
}
