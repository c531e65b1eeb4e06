import { z } from 'zod';
import { chassisConfigSchema } from './chassis.js';
import { OUTPUT_COMMANDS, outputSchema } from './output.js';

/**
 * The JSON Schema files, generated from the zod schemas (never written by
 * hand): the chassis config editors check, and each command's --json output.
 */
export const JSON_SCHEMAS: Record<string, z.ZodType> = {
  'chassis.schema.json': chassisConfigSchema,
  ...Object.fromEntries(OUTPUT_COMMANDS.map((c) => [`output/${c.replace(' ', '/')}.schema.json`, outputSchema(c)])),
};

export function renderJsonSchema(schema: z.ZodType, title: string): string {
  // Output is described as it is printed; a config as it may be written (defaults optional).
  const json = z.toJSONSchema(schema, { io: title.startsWith('output/') ? 'output' : 'input', unrepresentable: 'any', target: 'draft-2020-12' });
  return `${JSON.stringify({ title, ...json }, null, 2)}\n`;
}
