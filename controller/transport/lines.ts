import { LineSplitter } from '../../common/lines.js';
import { ControllerError } from '../errors.js';
import type { LineCall } from './client.js';
import { MAX_ANSWER_LINE_BYTES, requestLine } from '../../schemas/rpc.js';

/**
 * Request/response lines over one byte stream to an agent: answers are
 * matched to requests by id; once the stream is lost, every waiting and
 * later request fails with the reason, naming the node.
 */
export class LineDemux {
  private readonly where: string;
  private readonly pending = new Map<number, { resolve: (line: string) => void; reject: (e: Error) => void }>();
  /** Why the stream was lost; the error is made only when a request needs it (most connections just end). */
  private lostWhy: string | undefined;
  private lostError: ControllerError | undefined;
  private readonly splitter = new LineSplitter(MAX_ANSWER_LINE_BYTES);

  constructor(where: string) {
    this.where = where;
  }

  /** The call function for AgentClient, writing each request with `write`. */
  caller(write: (line: string) => void): LineCall {
    return (req) =>
      new Promise((resolve, reject) => {
        if (this.lostWhy !== undefined) return reject(this.lost());
        this.pending.set(req.id, { resolve, reject });
        write(requestLine(req.id, req.method, req.params as never));
      });
  }

  feed(chunk: Buffer): void {
    const { lines, tooLong } = this.splitter.push(chunk.toString('utf8'));
    for (const line of lines) {
      const id = idOf(line);
      const p = id === undefined ? undefined : this.pending.get(id);
      if (p && id !== undefined) {
        this.pending.delete(id);
        p.resolve(line);
      }
    }
    if (tooLong) this.lose(`the agent sent a line over ${MAX_ANSWER_LINE_BYTES} bytes`);
  }

  lose(why: string): void {
    this.lostWhy ??= why;
    for (const p of this.pending.values()) p.reject(this.lost());
    this.pending.clear();
  }

  private lost(): ControllerError {
    this.lostError ??= new ControllerError('CONNECTION_LOST', `${this.where}: ${this.lostWhy}`);
    return this.lostError;
  }
}

/**
 * The answer's id, for matching it to its request. An agent writes it first,
 * so it is read from the line's start without parsing the whole answer twice;
 * anything else is parsed. The client checks the id again on the parsed
 * answer, so a line whose start lies is refused there.
 */
const LEADING_ID = /^\{"id":(\d{1,15})[,}]/;

function idOf(line: string): number | undefined {
  const lead = LEADING_ID.exec(line);
  if (lead) return Number(lead[1]);
  try {
    const id = (JSON.parse(line) as { id?: unknown }).id;
    return typeof id === 'number' ? id : undefined;
  } catch {
    return undefined;
  }
}
