import { printable } from '../common/text.js';
import { type Logger, logFormat } from '../common/log.js';

/** Shows a fleet operation as it goes: a line per node a person can read, or log events when logs are JSON. */
export class Progress {
  private done = 0;
  private readonly total: number;
  private readonly label: string;
  private readonly log: Logger;
  private readonly text: boolean;

  constructor(label: string, total: number, log: Logger, text = logFormat() === 'text') {
    this.label = label;
    this.total = total;
    this.log = log;
    this.text = text;
  }

  /** One node finished, saying how. */
  node(host: string, text: string): void {
    this.done++;
    const counter = `[${this.done}/${this.total}]`;
    if (this.text) process.stderr.write(`${this.label} ${counter} ${printable(host)}: ${printable(text)}\n`);
    else this.log.info({ op: this.label, host, done: this.done, total: this.total }, text);
  }
}
