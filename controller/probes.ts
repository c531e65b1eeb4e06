import { spawn } from 'node:child_process';
import { LineSplitter } from '../common/lines.js';

/**
 * Data-plane probes around a rollout: long-running programs (a `ping -D -O`
 * from a VM, or from anywhere that reaches one) whose replies say, per probe,
 * how many were lost and how long the longest silence was. The controller
 * starts them before the first batch and stops them after the last.
 */
export interface ProbeSpec {
  name: string;
  command: string[];
}

export interface ProbeStats {
  name: string;
  /** When its path first answered, in ms from the probe's start (null: never); what follows is counted from there. */
  upAfterMs: number | null;
  sent: number;
  received: number;
  lost: number;
  /** The longest time without a reply once it had answered, in ms (to the end, when it never came back). */
  longestGapMs: number;
  /** It was getting replies when it was stopped: the path is back. */
  back: boolean;
  /** What the program said when it ended by itself, or could not start. */
  problem?: string;
}

const REPLY = /^\[(\d+\.\d+)\] .*icmp_seq=(\d+) /;
const NO_ANSWER = /^\[(\d+\.\d+)\] no answer yet for icmp_seq=(\d+)/;

/** ping's icmp_seq wraps at 2^16: about 11 minutes at 10 ms. */
const SEQ_SPAN = 65536;
/** A probe counts as answering when a reply came this recently (ping -i 0.01 replies every 10-20 ms). */
const ANSWERING_MS = 250;

/**
 * Pure: ping -D -O output, line by line, into counts and the longest gap.
 * Counted from the first reply on: a path that does not exist yet (an
 * overlay whose other end has not moved, a router whose gateway has not)
 * is not a loss, and when it came up is said apart (upAfterMs).
 */
export class PingTally {
  private firstReply: { seq: number; at: number } | undefined;
  private lastReplyAt: number | undefined;
  private lastSeq = -1;
  private wraps = 0;
  private readonly replied = new Set<number>();
  private lowest: number | undefined;
  private highest = -1;
  private gap = 0;

  constructor(private readonly startedAt: number) {}

  line(text: string): void {
    const m = REPLY.exec(text) ?? NO_ANSWER.exec(text);
    if (!m) return;
    const at = Number(m[1]) * 1000;
    let seq = Number(m[2]);
    if (this.lastSeq >= 0 && seq < this.lastSeq - SEQ_SPAN / 2) this.wraps++;
    this.lastSeq = seq;
    seq += this.wraps * SEQ_SPAN;
    this.highest = Math.max(this.highest, seq);
    this.lowest = Math.min(this.lowest ?? seq, seq);
    if (m[0].includes('no answer')) return;
    if (this.replied.has(seq)) return;
    this.replied.add(seq);
    this.firstReply ??= { seq, at };
    if (this.lastReplyAt !== undefined) this.gap = Math.max(this.gap, at - this.lastReplyAt);
    this.lastReplyAt = at;
  }

  /** Whether a reply came within the last `ms` (a probe whose path is back). */
  repliedWithin(now: number, ms: number): boolean {
    return this.lastReplyAt !== undefined && now - this.lastReplyAt <= ms;
  }

  stats(name: string, endedAt: number): ProbeStats {
    const back = this.repliedWithin(endedAt, ANSWERING_MS);
    const first = this.firstReply;
    if (!first) {
      // iputils counts from 1; what the probe sent is the span of sequence numbers it reported on.
      const sent = this.lowest === undefined ? 0 : this.highest - this.lowest + 1;
      return { name, upAfterMs: null, sent, received: 0, lost: sent, longestGapMs: Math.round(endedAt - this.startedAt), back };
    }
    const sent = this.highest - first.seq + 1;
    const received = [...this.replied].filter((s) => s >= first.seq).length;
    const tail = endedAt - (this.lastReplyAt as number);
    return {
      name, upAfterMs: Math.max(0, Math.round(first.at - this.startedAt)), sent, received, lost: Math.max(0, sent - received),
      longestGapMs: Math.round(Math.max(this.gap, back ? 0 : tail)), back,
    };
  }
}

export interface RunningProbes {
  /** Waits up to `settleMs` for every probe to get replies again (a path that came back after the last node), then stops them. */
  stop(settleMs?: number): Promise<ProbeStats[]>;
}


/** Starts every probe, each in a process group of its own (Ctrl-C at the terminal is the rollout's to handle). */
export function startProbes(specs: ProbeSpec[]): RunningProbes {
  const running = specs.map((spec) => {
    const startedAt = Date.now();
    const tally = new PingTally(startedAt);
    const [cmd, ...args] = spec.command as [string, ...string[]];
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = new LineSplitter(64 * 1024);
    let stderr = '';
    let problem: string | undefined;
    let stopping = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      for (const l of lines.push(d).lines) tally.line(l);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-500);
    });
    const ended = new Promise<void>((resolve) => {
      child.once('error', (err) => {
        problem = `could not start: ${err.message}`;
        resolve();
      });
      child.once('close', (code, signal) => {
        if (!stopping) problem = `ended by itself (${signal ?? `exit ${code}`}): ${stderr.trim()}`;
        resolve();
      });
    });
    return {
      answering: () => tally.repliedWithin(Date.now(), ANSWERING_MS) || problem !== undefined,
      stop: async (): Promise<ProbeStats> => {
        const endedAt = Date.now();
        stopping = true;
        try {
          process.kill(-(child.pid as number), 'SIGINT');
        } catch {
          // Already gone.
        }
        await ended;
        return { ...tally.stats(spec.name, endedAt), ...(problem ? { problem } : {}) };
      },
    };
  });
  let stopped: Promise<ProbeStats[]> | undefined;
  const settle = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && !running.every((r) => r.answering())) await new Promise((r) => setTimeout(r, 50));
  };
  return { stop: (settleMs = 0) => (stopped ??= settle(settleMs).then(() => Promise.all(running.map((r) => r.stop())))) };
}

/** The probes' table: one line per probe. */
export function formatProbes(stats: ProbeStats[]): string[] {
  if (stats.length === 0) return [];
  const width = Math.max(5, ...stats.map((s) => s.name.length));
  return [
    `${'probe'.padEnd(width)}  ${'up after'.padStart(9)}  ${'sent'.padStart(6)}  ${'lost'.padStart(5)}  ${'longest gap'.padStart(11)}  back`,
    ...stats.map((s) =>
      `${s.name.padEnd(width)}  ${(s.upAfterMs === null ? 'never' : `${s.upAfterMs} ms`).padStart(9)}  ${String(s.sent).padStart(6)}  ${String(s.lost).padStart(5)}  ${`${s.longestGapMs} ms`.padStart(11)}  ${s.back ? 'yes' : 'NO'}${s.problem ? `  (${s.problem})` : ''}`),
  ];
}
