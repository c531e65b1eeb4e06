import type { BridgeSpec, ChassisConfig } from '../schemas/chassis.js';
import { KEY_TABLE, MANAGER_SETTING, TOKEN_TABLE, fieldValue } from '../schemas/keys.js';
import { MANAGER_PRESENT, SSL_KEY, encodeSsl } from './keys.js';

/** What one node's config means for its OVSDB: the keys and cms tokens the agent owns, and bridges. */
export interface Desired {
  systemId: string;
  keys: Record<string, string>;
  cmsTokens: string[];
  bridges: BridgeSpec[];
}

/** The keys and tokens of a config, row by row of the key table; an empty map or list writes no key. */
export function render(c: ChassisConfig): Desired {
  const keys: Record<string, string> = {};
  for (const r of KEY_TABLE) {
    const v = fieldValue(c, r.path);
    if (v === undefined) continue;
    const text = r.encode(v as never);
    if (text !== '') keys[r.key] = text;
  }
  Object.assign(keys, c.extraExternalIds ?? {});
  for (const t of c.managers ?? []) keys[`${MANAGER_SETTING}${t}`] = MANAGER_PRESENT;
  if (c.ssl && 'privateKey' in c.ssl) {
    keys[SSL_KEY] = encodeSsl({ privateKey: c.ssl.privateKey, certificate: c.ssl.certificate, caCert: c.ssl.caCert, bootstrapCaCert: c.ssl.bootstrapCaCert === true });
  }
  const cms = TOKEN_TABLE.flatMap((r) => {
    const v = fieldValue(c, r.path);
    return v === undefined ? [] : r.encode(v as never);
  });
  cms.push(...(c.cmsOptions ?? []));
  const bridges = c.bridges ?? [...new Set(Object.values(c.bridgeMappings ?? {}))].map((name) => ({ name }));
  return { systemId: c.systemId, keys, cmsTokens: [...new Set(cms)], bridges };
}
