/**
 * When to connect, to which remote, when to probe and when to give up on a
 * silent peer — the policy of OVS's reconnect FSM (lib/reconnect.c,
 * python-ovs reconnect.py), written as a pure state machine over an injected
 * clock so every decision is tested without sockets or timers.
 *
 * The remotes of a list are tried in turn: after a failure the next one is
 * tried at once until every remote of the round has failed; only then does the
 * delay grow, doubling from `minBackoffMs` to `maxBackoffMs`. A connection that
 * was accepted and stayed up at least as long as the current delay (and never
 * less than the minimum) resets it, so a member that accepts and drops at once,
 * or one refused after it answered, cannot make the client spin.
 */
export interface ReconnectPolicy {
  minBackoffMs: number;
  maxBackoffMs: number;
  /** Idle time before an echo probe, per remote (0: never probe, as for unix sockets). */
  probeIntervalMs: (remote: number) => number;
}

export const OVS_RECONNECT = { minBackoffMs: 1000, maxBackoffMs: 8000 } as const;

export type ReconnectState = 'stopped' | 'backoff' | 'connecting' | 'active' | 'idle';

export type ReconnectAction =
  | { kind: 'connect'; remote: number }
  | { kind: 'probe' }
  | { kind: 'disconnect'; reason: string };

export class ReconnectFsm {
  private readonly remotes: number;
  private readonly policy: ReconnectPolicy;
  private stateValue: ReconnectState = 'stopped';
  private enteredAt = 0;
  private remoteValue = 0;
  private backoffMs = 0;
  private failuresThisRound = 0;
  private acceptedAt: number | undefined;
  private lastActivity = 0;

  constructor(remotes: number, policy: ReconnectPolicy) {
    if (remotes < 1) throw new RangeError('a reconnect FSM needs at least one remote');
    this.remotes = remotes;
    this.policy = policy;
  }

  get state(): ReconnectState {
    return this.stateValue;
  }

  /** The remote being (or next to be) connected to. */
  get remote(): number {
    return this.remoteValue;
  }

  /** The delay currently applied after a round of failures. */
  get backoff(): number {
    return this.backoffMs;
  }

  /** Starts connecting at once, to the first remote. */
  start(now: number): void {
    this.enter('backoff', now);
  }

  stop(now: number): void {
    this.enter('stopped', now);
  }

  connecting(now: number): void {
    this.acceptedAt = undefined;
    this.enter('connecting', now);
  }

  /** The transport is up: probing starts, so a peer that never answers is left. */
  connected(now: number): void {
    this.lastActivity = now;
    this.enter('active', now);
  }

  /** The remote passed the caller's checks (e.g. it is a connected cluster member): a good connection. */
  accepted(now: number): void {
    this.acceptedAt = now;
  }

  /** Something arrived from the peer at `at` (told again with the same time, it is nothing new). */
  activity(at: number): void {
    if (at <= this.lastActivity) return;
    this.lastActivity = at;
    if (this.stateValue === 'idle') this.enter('active', at);
  }

  /** A probe went out; the peer has one more interval to answer anything. */
  probed(now: number): void {
    if (this.stateValue === 'active') this.enter('idle', now);
  }

  /**
   * The connection attempt failed, the remote was refused (e.g. a cluster
   * member cut off from its cluster) or an established connection ended: move
   * to the next remote, at once or after the backoff.
   */
  failed(now: number): void {
    if (this.stateValue === 'stopped') return;
    if (this.acceptedAt !== undefined && now - this.acceptedAt >= Math.max(this.backoffMs, this.policy.minBackoffMs)) {
      this.backoffMs = 0;
      this.failuresThisRound = 0;
    }
    this.acceptedAt = undefined;
    this.failuresThisRound++;
    this.remoteValue = (this.remoteValue + 1) % this.remotes;
    if (this.failuresThisRound >= this.remotes) {
      this.backoffMs = this.backoffMs === 0 ? this.policy.minBackoffMs : Math.min(this.policy.maxBackoffMs, this.backoffMs * 2);
      this.failuresThisRound = 0;
    }
    this.enter('backoff', now);
  }

  /** What to do now, if anything. */
  run(now: number): ReconnectAction | undefined {
    switch (this.stateValue) {
      case 'backoff':
        return now >= this.enteredAt + this.waitMs() ? { kind: 'connect', remote: this.remoteValue } : undefined;
      case 'active': {
        const probe = this.policy.probeIntervalMs(this.remoteValue);
        return probe > 0 && now >= this.lastActivity + probe ? { kind: 'probe' } : undefined;
      }
      case 'idle': {
        const probe = this.policy.probeIntervalMs(this.remoteValue);
        return now >= this.enteredAt + probe
          ? { kind: 'disconnect', reason: `no answer from the peer for ${now - this.lastActivity} ms (inactivity probe)` }
          : undefined;
      }
      default:
        return undefined;
    }
  }

  /** When `run` next has something to say (absolute time), or undefined while only an event can move it. */
  wakeAt(): number | undefined {
    switch (this.stateValue) {
      case 'backoff':
        return this.enteredAt + this.waitMs();
      case 'active': {
        const probe = this.policy.probeIntervalMs(this.remoteValue);
        return probe > 0 ? this.lastActivity + probe : undefined;
      }
      case 'idle':
        return this.enteredAt + this.policy.probeIntervalMs(this.remoteValue);
      default:
        return undefined;
    }
  }

  /** A remote that just failed in this round is retried at once unless the round is over. */
  private waitMs(): number {
    return this.failuresThisRound === 0 ? this.backoffMs : 0;
  }

  private enter(state: ReconnectState, now: number): void {
    this.stateValue = state;
    this.enteredAt = now;
  }
}
