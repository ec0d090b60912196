/**
 * The house rule "SQL only in repository classes and migrations", checked on every app's source: outside
 * `*.repository.ts`, `migrations/` and specs, no file imports TypeORM (`typeorm`, `@nestjs/typeorm`) or holds SQL in a
 * string. A `*.sql.ts` module (SQL fragments a repository composes, e.g. the run search compiler) may hold SQL, but
 * only repositories may import it. Services reach the database through repositories and the TransactionRunner port.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as ts from 'typescript';

const ROOT = join(__dirname, '../..');
const APPS_DIR = join(ROOT, 'apps');

/** Statements, matched case-sensitively on upper-case keywords (prose such as "select a model from" is not SQL). */
const SQL_STATEMENTS: [string, RegExp][] = [
  ['SELECT … FROM', /\bSELECT\b[\s\S]*\bFROM\b/],
  ['INSERT INTO', /\bINSERT\s+INTO\b/],
  ['UPDATE … SET', /\bUPDATE\s+[\w."]+(\s+AS\s+\w+)?\s+SET\b/],
  ['DELETE FROM', /\bDELETE\s+FROM\b/],
  ['DDL', /\b(CREATE|ALTER|DROP)\s+(TABLE|SCHEMA|INDEX|VIEW)\b/],
];
const TYPEORM_MODULES = new Set(['typeorm', '@nestjs/typeorm']);

const isRepository = (file: string) => file.endsWith('.repository.ts');
const isSqlModule = (file: string) => file.endsWith('.sql.ts');
const isExempt = (file: string) =>
  isRepository(file) || file.includes('/migrations/') || /\.(spec|test)\.ts$/.test(file);

function sourceFiles(app: string): string[] {
  const src = join(APPS_DIR, app, 'src');
  return (readdirSync(src, { recursive: true }) as string[])
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))
    .map((name) => relative(ROOT, join(src, name)).split('\\').join('/'))
    .sort();
}

/** What in one file breaks the rule, each as `path:line what`. */
function violationsIn(file: string, text = readFileSync(join(ROOT, file), 'utf8')): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const report = (node: ts.Node, what: string) => {
    const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
    found.push(`${file}:${line} ${what}`);
  };
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      const from = (node.moduleSpecifier as ts.StringLiteral).text;
      if (TYPEORM_MODULES.has(from) && !isExempt(file)) {
        const names = ts.isImportDeclaration(node) ? importedNames(node) : 'a re-export';
        report(node, `imports ${names} from '${from}' (only repositories and migrations may)`);
      }
      if (/\.sql$/.test(from) && !isRepository(file) && !isSqlModule(file) && !isExempt(file)) {
        report(node, `imports the SQL module '${from}' (only repositories may)`);
      }
      return;
    }
    if (!isExempt(file) && !isSqlModule(file)) {
      const literal = literalText(node);
      const statement = literal && SQL_STATEMENTS.find(([, pattern]) => pattern.test(literal));
      if (literal && statement) {
        const excerpt = literal.replace(/\s+/g, ' ').trim().slice(0, 70);
        report(node, `holds SQL (${statement[0]}) in a string: "${excerpt}"`);
        return;
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function importedNames(node: ts.ImportDeclaration): string {
  const clause = node.importClause;
  const bindings = clause?.namedBindings;
  const names = [
    ...(clause?.name ? [clause.name.text] : []),
    ...(bindings && ts.isNamedImports(bindings) ? bindings.elements.map((e) => e.name.text) : []),
    ...(bindings && ts.isNamespaceImport(bindings) ? [`* as ${bindings.name.text}`] : []),
  ];
  return names.length ? names.join(', ') : 'the module';
}

/** The text of a string or template literal (a template's parts joined by a blank), else null. */
function literalText(node: ts.Node): string | null {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node)) {
    return [node.head.text, ...node.templateSpans.map((span) => span.literal.text)].join(' ');
  }
  return null;
}

const APPS = readdirSync(APPS_DIR, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .filter((app) => {
    try {
      return sourceFiles(app).length > 0;
    } catch {
      return false;
    }
  });

describe('SQL and TypeORM stay in repositories and migrations', () => {
  it('finds the apps to check', () => {
    expect(APPS).toEqual(expect.arrayContaining(['data', 'inference', 'registry', 'trainer']));
  });

  it.each(APPS)('apps/%s/src', (app) => {
    const violations = sourceFiles(app).flatMap((file) => violationsIn(file));
    expect(violations).toEqual([]);
  });

  it('recognises what it forbids (a check that cannot fail proves nothing)', () => {
    const service = [
      `import { DataSource, EntityManager } from 'typeorm';`,
      `import { compileX } from './x.sql';`,
      'const a = `SELECT id FROM registry.runs WHERE id = ${1}`;',
      `const b = 'INSERT INTO data.rows (a) VALUES ($1)';`,
      `const c = 'UPDATE registry.runs AS r SET status = $1';`,
      `const d = "DELETE FROM x";`,
      `const prose = 'Select a model from the list, then UPDATE the tags';`,
    ].join('\n');
    expect(violationsIn('apps/x/src/x.service.ts', service)).toEqual([
      "apps/x/src/x.service.ts:1 imports DataSource, EntityManager from 'typeorm' (only repositories and migrations may)",
      "apps/x/src/x.service.ts:2 imports the SQL module './x.sql' (only repositories may)",
      'apps/x/src/x.service.ts:3 holds SQL (SELECT … FROM) in a string: "SELECT id FROM registry.runs WHERE id ="',
      'apps/x/src/x.service.ts:4 holds SQL (INSERT INTO) in a string: "INSERT INTO data.rows (a) VALUES ($1)"',
      'apps/x/src/x.service.ts:5 holds SQL (UPDATE … SET) in a string: "UPDATE registry.runs AS r SET status = $1"',
      'apps/x/src/x.service.ts:6 holds SQL (DELETE FROM) in a string: "DELETE FROM x"',
    ]);
    expect(violationsIn('apps/x/src/x.repository.ts', service)).toEqual([]);
    expect(violationsIn('apps/x/src/migrations/1-x.ts', service)).toEqual([]);
    expect(violationsIn('apps/x/src/x.sql.ts', `const s = 'SELECT 1 FROM t';`)).toEqual([]);
  });
});
