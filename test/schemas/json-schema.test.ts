import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JSON_SCHEMAS, renderJsonSchema } from '../../schemas/json-schema.js';

describe('JSON Schema files for editors', () => {
  for (const [file, schema] of Object.entries(JSON_SCHEMAS)) {
    it(`schemas/${file} is generated from the zod schema and up to date (npm run schemas)`, () => {
      const committed = readFileSync(new URL(`../../schemas/${file}`, import.meta.url), 'utf8');
      expect(committed).toBe(renderJsonSchema(schema, file.replace('.schema.json', '')));
      if (file !== 'chassis.schema.json') return;
      const json = JSON.parse(committed) as { required: string[]; properties: Record<string, unknown> };
      expect(json.required).toEqual(expect.arrayContaining(['systemId', 'ovnRemote', 'encap']));
      expect(Object.keys(json.properties)).toContain('bridgeMappings');
    });
  }
});

describe('one version', () => {
  it('schemas/version.ts is package.json\'s version (what agents report in hello)', async () => {
    const { VERSION } = await import('../../schemas/version.js');
    const { readFileSync } = await import('node:fs');
    expect(VERSION).toBe((JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
  });
});

describe('the packaged systemd unit', () => {
  it('packaging/systemd/ovn-chassis-agent.service is generated from agent/unit.ts and up to date (npm run schemas)', async () => {
    const { agentUnit, UNIT_NAME } = await import('../../agent/unit.js');
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(`packaging/systemd/${UNIT_NAME}`, 'utf8')).toBe(agentUnit());
  });
});

describe('the manual\'s generated tables', () => {
  it('the chassis settings and the error codes in docs/ are made from the code\'s own tables and up to date (npm run schemas)', async () => {
    const { GENERATED_DOCS, withGenerated } = await import('../../scripts/lib/generated-docs.js');
    const { readFileSync } = await import('node:fs');
    for (const section of GENERATED_DOCS) {
      const page = readFileSync(section.file, 'utf8');
      expect(page, section.file).toBe(withGenerated(page, section));
    }
    expect(readFileSync('docs/agent.md', 'utf8')).toContain('| `encap.tos` | `ovn-encap-tos` |');
    expect(readFileSync('docs/output.md', 'utf8')).toContain('| `HOST_KEY_UNKNOWN` | the node\'s SSH host key is not in the known-hosts file | ovn-chassis hostkeys');
  });

  it('the protocol page lists every method of the agent protocol, and no other', async () => {
    const { RPC_METHODS } = await import('../../schemas/rpc.js');
    const { readFileSync } = await import('node:fs');
    const listed = [...readFileSync('docs/protocol.md', 'utf8').matchAll(/^\| `([a-z]+)` \| (yes|no) \|/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual([...RPC_METHODS].sort());
  });
});

describe('pull mode\'s database schema', () => {
  it('schemas/ovn-chassis-config.ovsschema is generated from schemas/config-db.ts and up to date (npm run schemas)', async () => {
    const { CONFIG_DB_FILE, renderConfigDbSchema } = await import('../../schemas/config-db.js');
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(`schemas/${CONFIG_DB_FILE}`, 'utf8')).toBe(renderConfigDbSchema());
  });
});
