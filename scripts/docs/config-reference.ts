/*
 * docs/configuration.md from the zod configuration schemas: every variable each app reads, its type and range and its
 * default (introspected from the schema objects), and its description (the JSDoc above the variable in the schema's
 * source, read with the TypeScript compiler API; `.describe()` wins when a schema has one).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import * as ts from 'typescript';
import { z } from 'zod';
import { baseConfigSchema } from '@sepal/config';
import { consoleConfigSchema } from '../../apps/console/src';
import { dataConfigSchema } from '../../apps/data/src';
import { inferenceConfigSchema } from '../../apps/inference/src';
import { registryConfigSchema } from '../../apps/registry/src';
import { trainerConfigSchema } from '../../apps/trainer/src';
import { FALLBACK_DESCRIPTIONS, MACHINE_DEPENDENT_DEFAULTS } from './config-notes';
import { fromRoot } from './repo-root';

export interface ConfigSource {
  /** The section's title. */
  title: string;
  /** The schema's source file, whose JSDoc comments describe its variables. */
  file: string;
  schema: z.ZodObject;
  /** What the section says before its table. */
  intro: string;
}

export const BASE_SOURCE: ConfigSource = {
  title: 'Every app',
  file: 'libs/config/src/base-config.ts',
  schema: baseConfigSchema,
  intro: 'Read by data, registry, trainer and inference (`libs/config`).',
};

/** One per app, in the order of the manual. A new `apps/<app>/src/<app>.config.ts` must be listed here. */
export const APP_SOURCES: ConfigSource[] = [
  {
    title: 'data',
    file: 'apps/data/src/data.config.ts',
    schema: dataConfigSchema,
    intro: 'The data service: imports, versions, splits, feedback.',
  },
  {
    title: 'registry',
    file: 'apps/registry/src/registry.config.ts',
    schema: registryConfigSchema,
    intro: 'The registry: runs, models, aliases, artifacts, keys, the outbox.',
  },
  {
    title: 'trainer',
    file: 'apps/trainer/src/trainer.config.ts',
    schema: trainerConfigSchema,
    intro: 'The trainer: jobs, trials, limits, the gate, retraining.',
  },
  {
    title: 'inference',
    file: 'apps/inference/src/inference.config.ts',
    schema: inferenceConfigSchema,
    intro: 'The inference gateway: models served, limits, batching, stacking, drift.',
  },
  {
    title: 'console',
    file: 'apps/console/src/console.config.ts',
    schema: consoleConfigSchema,
    intro: 'The web console and its proxy.',
  },
];

const VARIABLE = /^[A-Z][A-Z0-9_]*$/;

/** The JSDoc text above each UPPER_CASE property of the file's object literals, whitespace folded. */
export function jsDocDescriptions(
  file: string,
  text: string = readFileSync(fromRoot(file), 'utf8'),
): Map<string, string> {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const found = new Map<string, string>();
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && VARIABLE.test(node.name.text)) {
      const docs = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
      const comment = docs
        .map((doc) => ts.getTextOfJSDocComment(doc.comment) ?? '')
        .join(' ')
        .replace(/\s+/g, ' ')
        .trim();
      if (comment && !found.has(node.name.text)) found.set(node.name.text, comment);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** A variable's schema as JSON Schema (its input side: what the environment holds). */
type JsonSchema = z.core.JSONSchema.BaseSchema;

const code = (value: unknown) => `\`${String(value)}\``;
const number = (value: number) => (Number.isInteger(value) ? value.toLocaleString('en-US') : String(value));

/** `integer 0–5000`, `number in (0, 1)`, `` `json` \| `pretty` ``, `URL`, `string of 16+ characters`, ... */
export function describeType(schema: JsonSchema): string {
  if (schema.enum) {
    const values = schema.enum.map(String);
    const booleans = ['0', '1', 'true', 'false', 'yes', 'no'];
    if (values.length === booleans.length && booleans.every((b) => values.includes(b)))
      return 'boolean (`true`/`false`, `1`/`0`, `yes`/`no`)';
    return values.map(code).join(' | ');
  }
  if (schema.type === 'integer' || schema.type === 'number') {
    const bound = (v: unknown) =>
      typeof v === 'number' && Math.abs(v) < Number.MAX_SAFE_INTEGER ? v : undefined;
    const low = bound(schema.minimum) ?? bound(schema.exclusiveMinimum);
    const high = bound(schema.maximum) ?? bound(schema.exclusiveMaximum);
    const lowOpen = bound(schema.minimum) === undefined;
    const highOpen = bound(schema.maximum) === undefined;
    if (low === undefined && high === undefined) return schema.type;
    if (high === undefined) return `${schema.type} ${lowOpen ? '>' : '≥'} ${number(low!)}`;
    if (low === undefined) return `${schema.type} ${highOpen ? '<' : '≤'} ${number(high)}`;
    if (!lowOpen && !highOpen) return `${schema.type} ${number(low)}${low < 0 ? ' to ' : '–'}${number(high)}`;
    return `${schema.type} in ${lowOpen ? '(' : '['}${number(low)}, ${number(high)}${highOpen ? ')' : ']'}`;
  }
  if (schema.format === 'uri') return 'URL';
  const parts = ['string'];
  if (schema.minLength !== undefined && schema.maxLength !== undefined)
    parts.push(`of ${schema.minLength}–${schema.maxLength} characters`);
  else if (schema.minLength !== undefined && schema.minLength > 1)
    parts.push(`of ${schema.minLength}+ characters`);
  else if (schema.maxLength !== undefined) parts.push(`of at most ${schema.maxLength} characters`);
  if (schema.pattern) parts.push(`matching ${code(schema.pattern)}`);
  return parts.join(' ');
}

const BINARY_UNITS: [number, string][] = [
  [2 ** 30, 'GiB'],
  [2 ** 20, 'MiB'],
  [2 ** 10, 'KiB'],
];

/** The default as the variable would be written, with bytes in binary units; machine-dependent values named. */
export function describeDefault(name: string, field: z.ZodType, jsonSchema: JsonSchema): string {
  const machine = MACHINE_DEPENDENT_DEFAULTS[name];
  if (machine) return machine;
  const parsed = field.safeParse(undefined);
  if (!parsed.success) return 'required';
  const value = jsonSchema.default ?? parsed.data;
  if (value === undefined) return 'unset';
  let text = Array.isArray(value) ? value.join(',') : String(value);
  text = text.split(hostname()).join('<hostname>').split(`:${process.pid}`).join(':<pid>');
  if (text === '') return 'empty';
  if (typeof value === 'number' && name.endsWith('_BYTES')) {
    const unit = BINARY_UNITS.find(([size]) => value >= size && value % size === 0);
    if (unit) return `${code(text)} (${value / unit[0]} ${unit[1]})`;
  }
  return code(text);
}

export interface ConfigRow {
  name: string;
  type: string;
  default: string;
  description: string;
}

/** The rows of one schema, for the given variable names, described from its source file (then libs/config's). */
export function configRows(source: ConfigSource, names: string[]): ConfigRow[] {
  const own = jsDocDescriptions(source.file);
  const base = jsDocDescriptions(BASE_SOURCE.file);
  return names.map((name) => {
    const field = source.schema.shape[name] as z.ZodType;
    const jsonSchema = z.toJSONSchema(field, { io: 'input', unrepresentable: 'any' });
    const description =
      field.description ??
      own.get(name) ??
      base.get(name) ??
      FALLBACK_DESCRIPTIONS[`${source.title}.${name}`] ??
      FALLBACK_DESCRIPTIONS[name] ??
      '';
    return {
      name,
      type: describeType(jsonSchema),
      default: describeDefault(name, field, jsonSchema),
      description,
    };
  });
}

/** A table cell: pipes escaped, and `<`outside code spans escaped so that `<APP>_HOST` is not read as HTML. */
const cell = (text: string) =>
  text
    .split('`')
    .map((part, i) => (i % 2 === 0 ? part.replace(/</g, '\\<') : part))
    .join('`')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');

function table(rows: ConfigRow[]): string {
  const lines = ['| variable | type | default | meaning |', '| --- | --- | --- | --- |'];
  for (const row of rows) {
    lines.push(`| ${code(row.name)} | ${cell(row.type)} | ${cell(row.default)} | ${cell(row.description)} |`);
  }
  return lines.join('\n');
}

/** docs/configuration.md, before Prettier. */
export function renderConfigReference(): string {
  const baseNames = Object.keys(BASE_SOURCE.schema.shape);
  const sections = [
    '# Configuration reference',
    '<!-- GENERATED by `npm run docs:generate` from the zod schemas (apps/*/src/*.config.ts, libs/config): do not edit. -->',
    'Every setting is an environment variable, read once at start and validated: a bad value stops the app with a ' +
      'message naming the variable, its value and the rule it broke. An empty variable counts as unset. ' +
      'How the settings fit together: [deployment](deployment.md), [security](security.md), ' +
      '[training](training.md), [serving](serving.md).',
    `## ${BASE_SOURCE.title}`,
    BASE_SOURCE.intro,
    table(configRows(BASE_SOURCE, baseNames)),
  ];
  for (const source of APP_SOURCES) {
    const names = Object.keys(source.schema.shape);
    const own = names.filter((name) => !baseNames.includes(name));
    const shared = names.filter((name) => baseNames.includes(name));
    sections.push(`## ${source.title}`, source.intro);
    if (shared.length < baseNames.length) {
      sections.push(
        `Of the variables every app reads, ${source.title} reads only ${shared.map(code).join(', ')}.`,
      );
    }
    sections.push(table(configRows(source, own)));
  }
  return `${sections.join('\n\n')}\n`;
}
