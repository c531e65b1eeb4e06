import { createPrivateKey } from 'node:crypto';
import type { ParsedKey } from 'ssh2';

/**
 * The same key, signing with one decoded key object. ssh2 gives OpenSSL the
 * key's PEM text at every signature, and OpenSSL 3 decodes it anew each
 * time: most of a login's own CPU, paid once per node. The PEM sits in one
 * of ssh2's symbol-keyed fields; the returned key shadows that field with the
 * key object (Node's sign takes either), so ssh2's own sign, with its choice
 * of hash per key type, runs unchanged. Should that field ever not be found,
 * the key is returned as it is: slower, never wrong.
 */
export function signingKey(parsed: ParsedKey): ParsedKey {
  if (!parsed.isPrivateKey()) return parsed;
  const pem = parsed.getPrivatePEM();
  const fields = Object.getOwnPropertySymbols(parsed).filter((s) => (parsed as unknown as Record<symbol, unknown>)[s] === pem);
  if (fields.length !== 1) return parsed;
  const key: ParsedKey = Object.create(parsed);
  Object.defineProperty(key, fields[0] as symbol, { value: createPrivateKey(pem) });
  Object.defineProperty(key, 'getPrivatePEM', { value: () => pem });
  return key;
}
