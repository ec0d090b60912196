/*
 * sepal/app-boundaries: an app never imports another app.
 *
 * The rule resolves every module path (import, export ... from, import(), require(), import type, jest.mock, ...)
 * against the importing file and decides by where both live, so no spelling of the path escapes it:
 *   - a file of apps/<app> (src or test) may import its own app and libs/, never another app;
 *   - a file of libs/ may import no app;
 *   - apps/sepal (the composition root), test/, bench/, scripts/ and every other file may import an app only
 *     through its public entry, apps/<app>/src/index.ts (or its build, dist/apps/<app>/src/index.js).
 * A module path computed at run time cannot be checked, so it is reported too.
 */
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The apps allowed to compose the others (besides test/, bench/, scripts/ and root files). */
const COMPOSITION_APPS = new Set(['sepal']);
const INDEX = /^src(\/index(\.[cm]?[jt]s)?)?$/;

/** Where a repository path belongs: { kind: 'app', app } | { kind: 'lib' } | { kind: 'other' }. */
function place(pathFromRoot) {
  const parts = pathFromRoot.split('/');
  if (parts[0] === 'dist') parts.shift();
  if (parts[0] === 'apps' && parts.length > 1) {
    return { kind: 'app', app: parts[1], inside: parts.slice(2).join('/') };
  }
  if (parts[0] === 'libs') return { kind: 'lib' };
  return { kind: 'other' };
}

function toRootPath(absolute) {
  return relative(ROOT, absolute).split(sep).join('/');
}

/** The repository path a module specifier names, or null for a package (node:, @sepal/* are libs, npm packages). */
function targetOf(specifier, fromFile) {
  if (specifier.startsWith('.')) return toRootPath(resolve(dirname(fromFile), specifier));
  if (specifier.startsWith('/')) return toRootPath(specifier);
  // tsconfig's baseUrl is the root, so `apps/x/...` compiles as a path from the root.
  if (/^(dist\/)?(apps|libs)\//.test(specifier)) return specifier;
  return null;
}

/** The literal text of a module path node, or undefined when it is computed at run time. */
function literal(node) {
  if (node?.type === 'Literal' && typeof node.value === 'string') return node.value;
  if (node?.type === 'TemplateLiteral' && node.expressions.length === 0) return node.quasis[0].value.cooked;
  return undefined;
}

const REQUIRE_LIKE = new Set([
  'require',
  'require.resolve',
  'jest.mock',
  'jest.doMock',
  'jest.unmock',
  'jest.requireActual',
  'jest.requireMock',
  'jest.createMockFromModule',
]);

function calleeName(callee) {
  if (callee.type === 'Identifier') return callee.name;
  if (callee.type === 'MemberExpression' && callee.object.type === 'Identifier' && !callee.computed) {
    return `${callee.object.name}.${callee.property.name}`;
  }
  return '';
}

export const appBoundaries = {
  meta: {
    type: 'problem',
    docs: {
      description: 'An app never imports another app; composition goes through apps/<app>/src/index.ts.',
    },
    schema: [],
    messages: {
      otherApp:
        '{{from}} imports apps/{{app}} ("{{specifier}}"): an app never imports another app; share code through libs/.',
      libImportsApp: 'A lib never imports an app ("{{specifier}}" is in apps/{{app}}).',
      notIndex:
        '"{{specifier}}" reaches inside apps/{{app}}: import it only through its public entry apps/{{app}}/src/index.ts (export what you need there).',
      computed:
        'A module path computed at run time escapes the app-boundary check: import a literal path (through apps/<app>/src/index.ts).',
    },
  },
  create(context) {
    const file = context.filename ?? context.getFilename();
    const from = place(toRootPath(file));

    function check(sourceNode) {
      const specifier = literal(sourceNode);
      if (specifier === undefined) {
        context.report({ node: sourceNode, messageId: 'computed' });
        return;
      }
      const targetPath = targetOf(specifier, file);
      if (targetPath === null) return;
      const target = place(targetPath);
      if (target.kind !== 'app') return;
      if (from.kind === 'app' && from.app === target.app) return;
      const data = { specifier, app: target.app, from: from.kind === 'app' ? `apps/${from.app}` : '' };
      if (from.kind === 'lib') {
        context.report({ node: sourceNode, messageId: 'libImportsApp', data });
      } else if (from.kind === 'app' && !COMPOSITION_APPS.has(from.app)) {
        context.report({ node: sourceNode, messageId: 'otherApp', data });
      } else if (!INDEX.test(target.inside)) {
        context.report({ node: sourceNode, messageId: 'notIndex', data });
      }
    }

    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => node.source && check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
      TSImportType: (node) => check(node.source),
      TSExternalModuleReference: (node) => check(node.expression),
      CallExpression(node) {
        if (REQUIRE_LIKE.has(calleeName(node.callee)) && node.arguments.length > 0) check(node.arguments[0]);
      },
    };
  },
};

export default { rules: { 'app-boundaries': appBoundaries } };
