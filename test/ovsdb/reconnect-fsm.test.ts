import { describe, expect, it } from 'vitest';
import { ReconnectFsm } from '../../ovsdb/reconnect.js';

const policy = (probe = 5000) => ({ minBackoffMs: 1000, maxBackoffMs: 8000, probeIntervalMs: () => probe });

/** Drives the FSM the way the client does, with time as a number we move by hand. */
/** A script whose FSM connected to its first remote at time 0. */
function connectedScript(remotes: number, probe = 5000) {
  const s = script(remotes, probe);
  s.fsm.start(0);
  s.fsm.connecting(0);
  s.fsm.connected(0);
  return s;
}

function script(remotes: number, probe = 5000) {
  const fsm = new ReconnectFsm(remotes, policy(probe));
  let now = 0;
  return {
    fsm,
    at: (t: number) => (now = t),
    get now() {
      return now;
    },
    run: () => fsm.run(now),
    /** Fails the current remote and returns when and where the next attempt goes. */
    failAndNext: () => {
      fsm.failed(now);
      const at = fsm.wakeAt() as number;
      return { after: at - now, remote: fsm.remote };
    },
  };
}

describe('reconnect FSM (scripted time)', () => {
  it('connects at once to the first remote', () => {
    const s = script(3);
    s.fsm.start(0);
    expect(s.run()).toEqual({ kind: 'connect', remote: 0 });
  });

  it('tries every remote of the list at once before backing off, then doubles the delay up to the maximum', () => {
    const s = script(3);
    s.fsm.start(0);
    const seen: { after: number; remote: number }[] = [];
    for (let i = 0; i < 12; i++) {
      s.fsm.connecting(s.now);
      seen.push(s.failAndNext());
      s.at(s.now + seen.at(-1)!.after);
      expect(s.run()).toEqual({ kind: 'connect', remote: seen.at(-1)!.remote });
    }
    expect(seen.map((x) => x.remote)).toEqual([1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0]);
    expect(seen.map((x) => x.after)).toEqual([0, 0, 1000, 0, 0, 2000, 0, 0, 4000, 0, 0, 8000]);
  });

  it('with one remote, backs off from the first failure', () => {
    const s = script(1);
    s.fsm.start(0);
    const afters = [1, 2, 3, 4, 5].map(() => (s.fsm.connecting(s.now), s.failAndNext().after));
    expect(afters).toEqual([1000, 2000, 4000, 8000, 8000]);
  });

  it('does not run before the delay is over', () => {
    const s = script(1);
    s.fsm.start(0);
    s.fsm.connecting(0);
    s.fsm.failed(0);
    s.at(999);
    expect(s.run()).toBeUndefined();
    s.at(1000);
    expect(s.run()).toEqual({ kind: 'connect', remote: 0 });
  });

  it('probes an idle connection after the interval and leaves it one interval later', () => {
    const s = script(2, 5000);
    s.fsm.start(0);
    s.fsm.connecting(0);
    s.fsm.connected(10);
    s.fsm.accepted(10);
    s.at(5009);
    expect(s.run()).toBeUndefined();
    expect(s.fsm.wakeAt()).toBe(5010);
    s.at(5010);
    expect(s.run()).toEqual({ kind: 'probe' });
    s.fsm.probed(5010);
    expect(s.fsm.state).toBe('idle');
    s.at(10_009);
    expect(s.run()).toBeUndefined();
    s.at(10_010);
    expect(s.run()).toMatchObject({ kind: 'disconnect', reason: expect.stringMatching(/inactivity probe/) });
  });

  it('any traffic after a probe makes the connection active again and pushes the next probe out', () => {
    const s = connectedScript(1, 5000);
    s.fsm.probed(5000);
    s.fsm.activity(7000);
    expect(s.fsm.state).toBe('active');
    s.at(11_999);
    expect(s.run()).toBeUndefined();
    s.at(12_000);
    expect(s.run()).toEqual({ kind: 'probe' });
  });

  it('hearing again of traffic it already knew does not count as an answer to a probe', () => {
    const s = connectedScript(1, 5000);
    s.fsm.activity(100);
    s.fsm.probed(5100);
    s.fsm.activity(100);
    expect(s.fsm.state).toBe('idle');
    s.at(10_100);
    expect(s.run()?.kind).toBe('disconnect');
  });

  it('never probes a remote whose interval is 0 (unix sockets)', () => {
    const s = connectedScript(1, 0);
    s.at(1e9);
    expect(s.run()).toBeUndefined();
    expect(s.fsm.wakeAt()).toBeUndefined();
  });

  it('a frozen member (connects, never answers) is left for the next one after two probe intervals', () => {
    const s = script(3, 5000);
    s.fsm.start(0);
    expect(s.run()).toEqual({ kind: 'connect', remote: 0 });
    s.fsm.connecting(0);
    s.fsm.connected(1);
    s.at(5001);
    expect(s.run()).toEqual({ kind: 'probe' });
    s.fsm.probed(5001);
    s.at(10_001);
    expect(s.run()?.kind).toBe('disconnect');
    const next = s.failAndNext();
    expect(next).toEqual({ after: 0, remote: 1 });
  });

  it('a connection that stayed up resets the backoff; one refused right after it answered does not', () => {
    const s = script(2);
    s.fsm.start(0);
    for (let i = 0; i < 4; i++) (s.fsm.connecting(s.now), s.failAndNext());
    expect(s.fsm.backoff).toBe(2000);
    // Accepted and up for 3 s (> 2 s): the next failure starts a fresh round with no delay.
    s.fsm.connecting(s.now);
    s.fsm.connected(s.now);
    s.fsm.accepted(s.now);
    s.at(s.now + 3000);
    expect(s.failAndNext()).toEqual({ after: 0, remote: 1 });
    expect(s.fsm.backoff).toBe(0);
    // Refused after answering (never accepted), on every member: the delay grows.
    const afters = [1, 2, 3, 4].map(() => {
      s.fsm.connecting(s.now);
      s.fsm.connected(s.now);
      return s.failAndNext().after;
    });
    expect(afters).toEqual([1000, 0, 2000, 0]);
  });

  it('an accepted connection that drops at once does not reset the delay (no spinning on a flapping member)', () => {
    const s = script(1);
    s.fsm.start(0);
    s.fsm.connecting(0);
    s.failAndNext();
    const afters = [1, 2, 3].map(() => {
      s.fsm.connecting(s.now);
      s.fsm.connected(s.now);
      s.fsm.accepted(s.now);
      s.at(s.now + 10);
      return s.failAndNext().after;
    });
    expect(afters).toEqual([2000, 4000, 8000]);
  });

  it('does nothing once stopped', () => {
    const s = script(2);
    s.fsm.start(0);
    s.fsm.stop(0);
    s.fsm.failed(0);
    expect(s.run()).toBeUndefined();
    expect(s.fsm.wakeAt()).toBeUndefined();
  });
});
