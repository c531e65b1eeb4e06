import { z } from 'zod';
import { chassisConfigSchema } from './chassis.js';

/** The JSON Schema files editors use, generated from the zod schemas (never written by hand). */
export const JSON_SCHEMAS: Record<string, z.ZodType> = {
  'chassis.schema.json': chassisConfigSchema,
};

export function renderJsonSchema(schema: z.ZodType, title: string): string {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
  return `${JSON.stringify({ title, ...json }, null, 2)}\n`;
}
