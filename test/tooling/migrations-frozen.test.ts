/*
 * A released migration is frozen: it must run the same SQL forever. One that imports code (a lib's DDL helper, a
 * constant, another file of its app) changes whenever that code does, so a migration imports nothing but typeorm's
 * types and spells its SQL out.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const ROOT = join(__dirname, '../..');
const ALLOWED = new Set(['typeorm']);

function migrationFiles(): string[] {
  const apps = join(ROOT, 'apps');
  return readdirSync(apps).flatMap((app) => {
    const dir = join(apps, app, 'src/migrations');
    let names: string[];
    try {
      names = readdirSync(dir, { recursive: true }).map(String);
    } catch {
      return [];
    }
    return names.filter((name) => name.endsWith('.ts')).map((name) => join(dir, name));
  });
}

/** Every module a source file loads: imports, re-exports, `import x = require()`, require() and import(). */
function modulesLoaded(fileName: string, source: string): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      found.push((node.moduleSpecifier as ts.StringLiteral).text);
    } else if (ts.isExternalModuleReference(node)) {
      found.push(ts.isStringLiteral(node.expression) ? node.expression.text : node.expression.getText(file));
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === 'require'))
    ) {
      const [argument] = node.arguments;
      found.push(
        argument && ts.isStringLiteralLike(argument) ? argument.text : (argument?.getText(file) ?? ''),
      );
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      found.push((node.argument.literal as ts.StringLiteral).text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

describe('migrations are frozen once released', () => {
  const files = migrationFiles();

  it('finds the migrations of the apps that have a schema', () => {
    const where = files.map((file) => relative(ROOT, file).split('/').slice(0, 2).join('/'));
    expect(where).toEqual(expect.arrayContaining(['apps/data', 'apps/registry']));
  });

  it.each(files.map((file) => [relative(ROOT, file), file]))(
    '%s imports nothing but typeorm',
    (_name, file) => {
      const foreign = modulesLoaded(file, readFileSync(file, 'utf8')).filter(
        (module) => !ALLOWED.has(module),
      );
      expect(foreign).toEqual([]);
    },
  );

  it('sees every way a migration could load code', () => {
    const source = [
      "import { MigrationInterface, QueryRunner } from 'typeorm';",
      "import { outboxTableSql } from '@sepal/messaging';",
      "import type { X } from '../x';",
      "export { y } from './y';",
      "import z = require('z');",
      "const w = require('w');",
      "void import('v');",
      "type U = typeof import('u');",
    ].join('\n');
    expect(modulesLoaded('m.ts', source)).toEqual([
      'typeorm',
      '@sepal/messaging',
      '../x',
      './y',
      'z',
      'w',
      'v',
      'u',
    ]);
  });
});
