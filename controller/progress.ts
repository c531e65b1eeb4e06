import { printable } from '../common/text.js';
import { type Logger, logFormat } from '../common/log.js';

/** "850 ms", "12 s", "3 min 05 s", "1 h 02 min": a duration as a person reads it. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

export interface Tally {
  label: string;
  done: number;
  total: number;
  failed: number;
  elapsedMs: number;
}

/** The live line: done/total, failures, elapsed, and an ETA from the pace so far. */
export function statusLine(t: Tally): string {
  const eta = t.done > 0 && t.done < t.total ? ` · about ${duration((t.elapsedMs / t.done) * (t.total - t.done))} left` : '';
  return `${t.label}: ${t.done}/${t.total} done${t.failed > 0 ? `, ${t.failed} failed` : ''} · ${duration(t.elapsedMs)}${eta}`;
}

/**
 * Shows a fleet operation as it goes: a line per node a person can read (and,
 * at a terminal, a live line beneath them: done/total, failures, elapsed,
 * ETA), or log events when logs are JSON.
 */
export class Progress {
  private done = 0;
  private failed = 0;
  private readonly started = Date.now();
  private readonly total: number;
  private readonly label: string;
  private readonly log: Logger;
  private readonly text: boolean;
  private readonly live: boolean;
  private ticker: NodeJS.Timeout | undefined;

  constructor(label: string, total: number, log: Logger, text = logFormat() === 'text', live = text && Boolean(process.stderr.isTTY)) {
    this.label = label;
    this.total = total;
    this.log = log;
    // Progress is said at the info level: OVN_CHASSIS_LOG_LEVEL=warn (a script, the bench) quiets it in text too.
    const said = log.isLevelEnabled('info');
    this.text = text && said;
    this.live = live && said && total > 0;
    if (this.live) {
      // Elapsed and ETA move while a slow node is worked on; unref'd, it never holds the process.
      this.ticker = setInterval(() => this.redraw(), 1000).unref();
      this.redraw();
    }
  }

  /** One node finished, saying how. */
  node(host: string, text: string, ok = true): void {
    this.done++;
    if (!ok) this.failed++;
    if (this.text) this.say(`${this.label} [${this.done}/${this.total}] ${printable(host)}: ${printable(text)}`);
    else this.log.info({ op: this.label, host, done: this.done, total: this.total, ...(ok ? {} : { failed: true }) }, text);
    if (this.done >= this.total) this.finish();
  }

  /** One node finished, said elsewhere (a rollout's own step lines): only counted. */
  count(ok: boolean): void {
    this.done++;
    if (!ok) this.failed++;
    if (this.done >= this.total) this.finish();
    else this.redraw();
  }

  /** A line of its own, above the live line. */
  say(line: string): void {
    if (!this.text) {
      this.log.info({ op: this.label }, line.trim());
      return;
    }
    process.stderr.write(this.live && this.ticker ? `\r\x1b[2K${printable(line)}\n` : `${printable(line)}\n`);
    this.redraw();
  }

  /** Ends the live line with the final tally, kept on the screen. */
  finish(): void {
    if (!this.ticker) return;
    clearInterval(this.ticker);
    this.ticker = undefined;
    process.stderr.write(`\r\x1b[2K${this.line()}\n`);
  }

  private line(): string {
    return statusLine({ label: this.label, done: this.done, total: this.total, failed: this.failed, elapsedMs: Date.now() - this.started });
  }

  private redraw(): void {
    if (this.ticker) process.stderr.write(`\r\x1b[2K${this.line()}`);
  }
}
