import { describe, expect, it } from 'vitest';
import { judgeHostKey, knownHostsLine } from '../../controller/hostkeys.js';
import { fingerprint } from '../../controller/transport/known-hosts.js';

// Two SSH public key blobs (type string, then key material), enough to compare.
const blob = (type: string, material: string) => {
  const t = Buffer.from(type);
  const m = Buffer.from(material);
  const b = Buffer.alloc(8 + t.length + m.length);
  b.writeUInt32BE(t.length, 0);
  t.copy(b, 4);
  b.writeUInt32BE(m.length, 4 + t.length);
  m.copy(b, 8 + t.length);
  return b;
};
const real = blob('ssh-ed25519', 'the node key');
const other = blob('ssh-ed25519', 'another key');
const scanned = { file: '/k', name: '[10.0.0.1]:2222', key: real };

describe('judging a node\'s host key', () => {
  it('a key the file lists for the host is trusted; an unlisted host is new; another key of its type is a change', () => {
    expect(judgeHostKey(scanned, `${knownHostsLine(scanned)}\n`)).toBe('pinned');
    expect(judgeHostKey(scanned, '# empty\n')).toBe('added');
    expect(judgeHostKey(scanned, `[10.0.0.2]:2222 ssh-ed25519 ${other.toString('base64')}\n`)).toBe('added');
    expect(judgeHostKey(scanned, `${knownHostsLine({ ...scanned, key: other })}\n`)).toBe('changed');
  });

  it('a revoked key is never trusted again', () => {
    expect(judgeHostKey(scanned, `@revoked * ssh-ed25519 ${real.toString('base64')}\n${knownHostsLine(scanned)}\n`)).toBe('changed');
  });

  it('a fingerprint the inventory pins is trusted; with pins only, any other key is a change (there is no file to add it to)', () => {
    expect(judgeHostKey({ ...scanned, file: undefined }, '', [fingerprint(real)])).toBe('pinned');
    expect(judgeHostKey({ ...scanned, file: undefined }, '', [fingerprint(other)])).toBe('changed');
  });

  it('writes the line ssh-keyscan would', () => {
    expect(knownHostsLine(scanned)).toBe(`[10.0.0.1]:2222 ssh-ed25519 ${real.toString('base64')}`);
  });
});
