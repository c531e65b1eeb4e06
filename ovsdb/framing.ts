import { OvsdbError } from './errors.js';

/**
 * Splits a byte stream into the JSON values OVSDB sends back to back, with no
 * delimiter. The scan state (nesting depth, inside a string, after a backslash)
 * survives across chunks, so a value may be cut anywhere — mid-string,
 * mid-escape, mid-UTF-8 character — and each byte is looked at once.
 * Structural bytes are ASCII and never occur inside a multi-byte UTF-8
 * sequence, so scanning bytes is safe; text is decoded only once a whole value
 * is in hand.
 */
export class JsonFramer {
  private readonly maxBytes: number;
  private parts: Buffer[] = [];
  private partBytes = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(maxMessageBytes: number) {
    this.maxBytes = maxMessageBytes;
  }

  /** Bytes held for the value not yet complete. */
  get pendingBytes(): number {
    return this.partBytes;
  }

  /** Feeds one chunk; returns the values it completed. Throws OvsdbError on bad input. */
  push(chunk: Buffer): unknown[] {
    const out: unknown[] = [];
    let start = this.depth > 0 ? 0 : -1;
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const b = chunk[i] as number;
      if (this.depth === 0) {
        if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
        if (b !== 0x7b /* { */ && b !== 0x5b /* [ */) {
          throw new OvsdbError(
            'PROTOCOL_ERROR',
            `expected a JSON object from the peer, got byte 0x${b.toString(16).padStart(2, '0')}`,
          );
        }
        this.depth = 1;
        start = i;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === 0x5c /* \ */) this.escaped = true;
        else if (b === 0x22 /* " */) this.inString = false;
        continue;
      }
      if (b === 0x22) this.inString = true;
      else if (b === 0x7b || b === 0x5b) this.depth++;
      else if (b === 0x7d || b === 0x5d) {
        this.depth--;
        if (this.depth === 0) {
          this.checkSize(i + 1 - start);
          out.push(this.complete(chunk.subarray(start, i + 1)));
          start = -1;
        }
      }
    }
    if (this.depth > 0) {
      const tail = chunk.subarray(start);
      this.checkSize(tail.length);
      // Copy: the socket may reuse its buffer, and a subarray would pin the whole chunk.
      this.parts.push(Buffer.from(tail));
      this.partBytes += tail.length;
    }
    return out;
  }

  private checkSize(more: number): void {
    if (this.partBytes + more > this.maxBytes) {
      const held = this.partBytes + more;
      this.reset();
      throw new OvsdbError(
        'MESSAGE_TOO_LARGE',
        `a message from the peer exceeds the limit of ${this.maxBytes} bytes (${held} bytes so far)`,
      );
    }
  }

  private complete(last: Buffer): unknown {
    const bytes = this.parts.length === 0 ? last : Buffer.concat([...this.parts, last]);
    this.reset();
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw new OvsdbError('PROTOCOL_ERROR', `the peer sent invalid JSON: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  private reset(): void {
    this.parts = [];
    this.partBytes = 0;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
  }
}
