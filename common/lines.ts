/**
 * Cuts a text stream into lines — the agent RPC is one JSON value per line,
 * both ways — holding at most `maxChars` of a line not yet ended. Each chunk
 * is scanned once, so a long line arriving in many chunks costs linear time.
 */
export class LineSplitter {
  private buf = '';
  private readonly maxChars: number;

  constructor(maxChars: number) {
    this.maxChars = maxChars;
  }

  /** The lines `chunk` completes; `tooLong` once the unended line has grown past the limit (it is dropped). */
  push(chunk: string): { lines: string[]; tooLong: boolean } {
    const parts = chunk.split('\n');
    const rest = parts.pop() ?? '';
    const lines = parts.length > 0 ? [this.buf + parts[0], ...parts.slice(1)] : [];
    this.buf = parts.length > 0 ? rest : this.buf + rest;
    const tooLong = this.buf.length > this.maxChars;
    if (tooLong) this.buf = '';
    return { lines, tooLong };
  }
}
