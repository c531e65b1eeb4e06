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

describe('the README\'s table of chassis settings', () => {
  it('is generated from the key table and up to date (npm run schemas)', async () => {
    const { withKeyTable } = await import('../../scripts/lib/readme.js');
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).toBe(withKeyTable(readme));
    expect(readme).toContain('| `encap.tos` | `ovn-encap-tos` |');
  });
});
