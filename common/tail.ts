/** The last `max` bytes of a stream, kept without copying what is dropped: a program may print without end. */
export class Tail {
  private readonly max: number;
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(max: number) {
    this.max = max;
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.chunks.length > 1 && this.size - (this.chunks[0] as Buffer).length >= this.max) this.size -= (this.chunks.shift() as Buffer).length;
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.max)).toString('utf8');
  }
}
