import fc from 'fast-check';
import { z } from 'zod';

/** The subset of JSON Schema (draft 2020-12, as `z.toJSONSchema` writes it) the generator understands. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  prefixItems?: JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  default?: unknown;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
}

/** The JSON Schema of a contract's zod schema, as a client sees it (input side: defaults make fields optional). */
export function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', reused: 'inline' }) as JsonSchema;
}

/** Generated strings and arrays stay short: the mutations take care of the long ones. */
const MAX_STRING = 40;
const MAX_ITEMS = 5;
const MAX_KEYS = 4;

/**
 * Values that satisfy `schema` as far as JSON Schema says (refinements it cannot express, e.g. "finite", are the
 * server's to check): the valid half of the fuzzer, which the mutations then break.
 */
export function arbitraryFromSchema(schema: JsonSchema, root: JsonSchema = schema): fc.Arbitrary<unknown> {
  if (schema.$ref) {
    const name = schema.$ref.replace(/^#\/\$defs\//, '');
    const target = root.$defs?.[name];
    return target ? fc.constant(null).chain(() => arbitraryFromSchema(target, root)) : fc.jsonValue();
  }
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives?.length) return fc.oneof(...alternatives.map((s) => arbitraryFromSchema(s, root)));
  if (schema.allOf?.length) return arbitraryFromSchema(schema.allOf[0], root);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return stringArbitrary(schema);
    case 'integer':
      return fc.integer({
        min: bound(schema.minimum ?? schema.exclusiveMinimum, -1_000_000, (m) => Math.ceil(m)),
        max: bound(schema.maximum ?? schema.exclusiveMaximum, 1_000_000, (m) => Math.floor(m)),
      });
    case 'number':
      return fc.double({
        min: bound(schema.minimum ?? schema.exclusiveMinimum, -1e6, (m) => m),
        max: bound(schema.maximum ?? schema.exclusiveMaximum, 1e6, (m) => m),
        noNaN: true,
        noDefaultInfinity: true,
      });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return arrayArbitrary(schema, root);
    case 'object':
      return objectArbitrary(schema, root);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function bound(value: number | undefined, fallback: number, round: (v: number) => number): number {
  if (value === undefined || !Number.isFinite(value)) return fallback;
  return Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, round(value)));
}

function stringArbitrary(schema: JsonSchema): fc.Arbitrary<unknown> {
  if (schema.format === 'uuid') return fc.uuid();
  if (schema.format === 'date-time') {
    return fc
      .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
      .map((d) => d.toISOString());
  }
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => fits(s, schema));
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.max(minLength, Math.min(schema.maxLength ?? MAX_STRING, MAX_STRING));
  // Mostly plain names: trimmed, non-empty strings are what most fields want.
  return fc
    .oneof(
      { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,15}$/) },
      { weight: 1, arbitrary: fc.string({ minLength, maxLength }) },
    )
    .filter((s) => fits(s, schema));
}

const fits = (s: string, schema: JsonSchema) =>
  s.length >= (schema.minLength ?? 0) && s.length <= (schema.maxLength ?? Infinity);

function arrayArbitrary(schema: JsonSchema, root: JsonSchema): fc.Arbitrary<unknown> {
  if (schema.prefixItems) return fc.tuple(...schema.prefixItems.map((s) => arbitraryFromSchema(s, root)));
  const minLength = schema.minItems ?? 0;
  return fc.array(arbitraryFromSchema(schema.items ?? {}, root), {
    minLength,
    maxLength: Math.max(minLength, Math.min(schema.maxItems ?? MAX_ITEMS, MAX_ITEMS)),
  });
}

function objectArbitrary(schema: JsonSchema, root: JsonSchema): fc.Arbitrary<unknown> {
  const properties = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const record = fc.record(
    Object.fromEntries(Object.entries(properties).map(([key, s]) => [key, arbitraryFromSchema(s, root)])),
    { requiredKeys: Object.keys(properties).filter((key) => required.has(key)) },
  );
  const extra = schema.additionalProperties;
  if (extra === false || extra === undefined || Object.keys(properties).length > 0) return record;
  // A record (`z.record`): free keys with typed values.
  const keys = schema.propertyNames
    ? (arbitraryFromSchema(schema.propertyNames, root) as fc.Arbitrary<string>)
    : fc.stringMatching(/^[a-z][a-z_]{0,11}$/);
  const values = extra === true ? fc.jsonValue({ maxDepth: 1 }) : arbitraryFromSchema(extra, root);
  return fc.dictionary(keys, values, { maxKeys: MAX_KEYS });
}
