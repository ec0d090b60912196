import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The compiled script of a worker thread that lives beside the calling module: `<name>.js` next to it when the code
 * runs from `dist/`, else the same path under the repository's `dist/` (tests run the TypeScript sources, and a worker
 * thread can only start compiled JavaScript). Throws naming both places when neither exists.
 */
export function workerScript(dirname: string, name: string): string {
  const beside = path.join(dirname, `${name}.js`);
  if (existsSync(beside)) return beside;
  let root = dirname;
  while (!existsSync(path.join(root, 'package.json')) && path.dirname(root) !== root)
    root = path.dirname(root);
  const built = path.join(root, 'dist', path.relative(root, dirname), `${name}.js`);
  if (existsSync(built)) return built;
  throw new Error(
    `the worker script ${name}.js is missing (${beside}, ${built}): run \`npm run build\` first`,
  );
}
