/** npm run schemas: regenerates schemas/*.schema.json from the zod schemas. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JSON_SCHEMAS, renderJsonSchema } from '../schemas/json-schema.js';

const root = join(import.meta.dirname, '..', '..', 'schemas');
for (const [file, schema] of Object.entries(JSON_SCHEMAS)) {
  writeFileSync(join(root, file), renderJsonSchema(schema, file.replace('.schema.json', '')));
  process.stdout.write(`wrote schemas/${file}\n`);
}
