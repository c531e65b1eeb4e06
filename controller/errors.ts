/** Failures the controller reports per node or for the whole run, with a code to switch on. */
export type ControllerErrorCode =
  | 'INVALID_CONFIG'
  | 'INVALID_INVENTORY'
  | 'UNREACHABLE'
  | 'HOST_KEY_UNKNOWN'
  | 'HOST_KEY_CHANGED'
  | 'AUTH_FAILED'
  | 'CONNECTION_LOST'
  | 'TIMEOUT'
  | 'AGENT_ERROR'
  | 'PROTOCOL'
  | 'REFUSED'
  | 'NOT_VERIFIED'
  | 'OUTCOME_UNKNOWN'
  | 'PROTOCOL_MISMATCH'
  | 'AGENT_UNHEALTHY'
  | 'AGENT_NOT_STARTED'
  | 'JOURNAL_FAILED';

export class ControllerError extends Error {
  readonly code: ControllerErrorCode | string;

  constructor(code: ControllerErrorCode | string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ControllerError';
    this.code = code;
  }
}
