/** npm run schemas: regenerates schemas/*.schema.json from the zod schemas, and the packaged systemd unit. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { JSON_SCHEMAS, renderJsonSchema } from '../schemas/json-schema.js';
import { UNIT_NAME, agentUnit } from '../agent/unit.js';
import { withKeyTable } from './lib/readme.js';

const root = join(import.meta.dirname, '..', '..', 'schemas');
for (const [file, schema] of Object.entries(JSON_SCHEMAS)) {
  mkdirSync(dirname(join(root, file)), { recursive: true });
  writeFileSync(join(root, file), renderJsonSchema(schema, file.replace('.schema.json', '')));
  process.stdout.write(`wrote schemas/${file}\n`);
}

// The README's table of chassis settings comes from the key table.
const readme = join(import.meta.dirname, '..', '..', 'README.md');
writeFileSync(readme, withKeyTable(readFileSync(readme, 'utf8')));
process.stdout.write('wrote the key table in README.md\n');

// The packaged systemd unit comes from the same source as the one agent install writes.
writeFileSync(join(import.meta.dirname, '..', '..', 'packaging', 'systemd', UNIT_NAME), agentUnit());
process.stdout.write(`wrote packaging/systemd/${UNIT_NAME}\n`);
