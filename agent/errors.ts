import type { ErrorCode } from '../schemas/errors.js';

/** Failures of the agent, with a code (from the one table, schemas/errors.ts) a caller can switch on. */
export type AgentErrorCode = ErrorCode;

export class AgentError extends Error {
  readonly code: AgentErrorCode;

  constructor(code: AgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentError';
    this.code = code;
  }
}
