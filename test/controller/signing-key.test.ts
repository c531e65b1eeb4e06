import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { signingKey } from '../../controller/transport/signing-key.js';

const data = Buffer.from('an SSH session identifier and a user-auth request');

type KeyType = 'ed25519' | 'ecdsa' | 'rsa';
const generate = ssh2.utils.generateKeyPairSync as (type: KeyType, opts: object) => { private: string; public: string };

/** ssh2's own generator now and then makes an Ed25519 key that ssh-keygen refuses as well (some 1 in 200): another is made. */
function generated(type: KeyType, opts: object = {}, part: 'private' | 'public' = 'private'): ssh2.ParsedKey {
  for (let tries = 0; tries < 10; tries++) {
    const parsed = ssh2.utils.parseKey(generate(type, opts)[part]);
    if (!(parsed instanceof Error)) return parsed;
  }
  throw new Error(`ssh2 made no ${type} key it can read in 10 tries`);
}

describe('the login key, decoded once', () => {
  it.each([
    ['ed25519', {}, undefined],
    ['ecdsa', { bits: 256 }, undefined],
    ['ecdsa', { bits: 384 }, undefined],
    ['rsa', { bits: 2048 }, 'sha256'],
    ['rsa', { bits: 2048 }, 'sha512'],
  ] as const)('%s %o (hash %s): signs what ssh2 verifies, with a key object in place of the PEM', (type, opts, hash) => {
    const parsed = generated(type, opts);
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
    const parsed = generated('ed25519');
    expect(signingKey(parsed).sign(data).equals(parsed.sign(data))).toBe(true);
  });

  it('a public key is left as it is', () => {
    const parsed = generated('ed25519', {}, 'public');
    expect(signingKey(parsed)).toBe(parsed);
  });
});
