import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { signingKey } from '../../controller/transport/signing-key.js';

const data = Buffer.from('an SSH session identifier and a user-auth request');

describe('the login key, decoded once', () => {
  it.each([
    ['ed25519', {}, undefined],
    ['ecdsa', { bits: 256 }, undefined],
    ['ecdsa', { bits: 384 }, undefined],
    ['rsa', { bits: 2048 }, 'sha256'],
    ['rsa', { bits: 2048 }, 'sha512'],
  ] as const)('%s %o (hash %s): signs what ssh2 verifies, with a key object in place of the PEM', (type, opts, hash) => {
    const pair = ssh2.utils.generateKeyPairSync(type, opts);
    const parsed = ssh2.utils.parseKey(pair.private) as ssh2.ParsedKey;
    const key = signingKey(parsed);
    expect(key).not.toBe(parsed);
    const sig = key.sign(data, hash);
    expect(sig).toBeInstanceOf(Buffer);
    expect(parsed.verify(data, sig, hash)).toBe(true);
    expect(parsed.verify(Buffer.from('something else'), sig, hash)).toBe(false);
    // Everything else is the parsed key's own.
    expect(key.getPrivatePEM()).toBe(parsed.getPrivatePEM());
    expect(key.getPublicSSH().equals(parsed.getPublicSSH())).toBe(true);
    expect(key.type).toBe(parsed.type);
    expect(ssh2.utils.parseKey(key)).toBe(key);
  });

  it('ed25519 signatures are deterministic: the same bytes as ssh2 makes from the PEM', () => {
    const parsed = ssh2.utils.parseKey(ssh2.utils.generateKeyPairSync('ed25519').private) as ssh2.ParsedKey;
    expect(signingKey(parsed).sign(data).equals(parsed.sign(data))).toBe(true);
  });

  it('a public key is left as it is', () => {
    const parsed = ssh2.utils.parseKey(ssh2.utils.generateKeyPairSync('ed25519').public) as ssh2.ParsedKey;
    expect(signingKey(parsed)).toBe(parsed);
  });
});
