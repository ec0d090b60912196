#!/usr/bin/env node
// Fails when a TypeScript file imports, directly or through others, itself: type-only imports and re-exports count,
// since a type-level cycle ties two modules together as firmly as a value-level one. Run by `npm run lint`.
// Usage: node scripts/check-cycles.mjs [root]   (root defaults to the repository; its tsconfig.json gives the paths)
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SOURCE_DIRS = ['apps', 'libs', 'bench', 'scripts', 'test'];
const SKIP_DIRS = new Set(['node_modules', 'dist', '.sepal', 'coverage']);

/** Every .ts/.tsx file under the source folders. */
function sourceFiles(root) {
  const files = [];
  const walk = (dir) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (SKIP_DIRS.has(entry.name)) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) files.push(path);
    }
  };
  for (const dir of SOURCE_DIRS) walk(join(root, dir));
  return files;
}

/** The import graph: file → the project files it imports (bare packages left out). */
export function importGraph(root) {
  const configPath = join(root, 'tsconfig.json');
  const { config } = ts.readConfigFile(configPath, ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root);
  const host = ts.createCompilerHost(options);
  const graph = new Map();
  for (const file of sourceFiles(root)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = new Set();
    for (const { fileName } of info.importedFiles) {
      const resolved = ts.resolveModuleName(fileName, file, options, host).resolvedModule;
      if (!resolved || resolved.isExternalLibraryImport) continue;
      const target = resolve(resolved.resolvedFileName);
      if (!target.endsWith('.d.ts')) targets.add(target);
    }
    graph.set(resolve(file), targets);
  }
  return graph;
}

/** Strongly connected components of more than one file, or a file importing itself (Tarjan). */
export function findCycles(graph) {
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const cycles = [];
  let next = 0;
  const visit = (node) => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node), low.get(target)));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node), index.get(target)));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || graph.get(node)?.has(node)) cycles.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

const self = fileURLToPath(import.meta.url);
if (process.argv[1] && resolve(process.argv[1]) === self) {
  const root = resolve(process.argv[2] ?? join(self, '../..'));
  const cycles = findCycles(importGraph(root));
  if (cycles.length === 0) {
    process.stdout.write('import cycles: none\n');
  } else {
    const lines = [
      `import cycles: ${cycles.length} (each group imports itself through its members; type imports count)`,
      ...cycles.map((cycle) => `- ${cycle.map((file) => relative(root, file)).join('\n  ')}`),
      'Break each by moving what both sides need (often a type) into a file of its own.',
    ];
    process.stderr.write(`${lines.join('\n')}\n`);
    process.exit(1);
  }
}
