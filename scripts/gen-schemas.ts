/** npm run schemas: regenerates the JSON Schemas from the zod schemas, the manual's generated tables, and the packaged systemd unit. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { JSON_SCHEMAS, renderJsonSchema } from '../schemas/json-schema.js';
import { UNIT_NAME, agentUnit } from '../agent/unit.js';
import { CONFIG_DB_FILE, renderConfigDbSchema } from '../schemas/config-db.js';
import { GENERATED_DOCS, withGenerated } from './lib/generated-docs.js';

const root = join(import.meta.dirname, '..', '..', 'schemas');
for (const [file, schema] of Object.entries(JSON_SCHEMAS)) {
  mkdirSync(dirname(join(root, file)), { recursive: true });
  writeFileSync(join(root, file), renderJsonSchema(schema, file.replace('.schema.json', '')));
  process.stdout.write(`wrote schemas/${file}\n`);
}

// Pull mode's database schema, for ovsdb-tool create-cluster.
writeFileSync(join(root, CONFIG_DB_FILE), renderConfigDbSchema());
process.stdout.write(`wrote schemas/${CONFIG_DB_FILE}\n`);

// The manual's tables of chassis settings and error codes come from the code's own tables.
for (const section of GENERATED_DOCS) {
  const page = join(import.meta.dirname, '..', '..', section.file);
  writeFileSync(page, withGenerated(readFileSync(page, 'utf8'), section));
  process.stdout.write(`wrote the ${section.name} section of ${section.file}\n`);
}

// The packaged systemd unit comes from the same source as the one agent install writes.
writeFileSync(join(import.meta.dirname, '..', '..', 'packaging', 'systemd', UNIT_NAME), agentUnit());
process.stdout.write(`wrote packaging/systemd/${UNIT_NAME}\n`);
