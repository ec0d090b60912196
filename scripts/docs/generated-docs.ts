/*
 * The generated pages of the manual, formatted by the repository's Prettier settings (so `prettier --check .` and
 * the drift test agree): docs/configuration.md and docs/cli.md.
 */
import { readFileSync } from 'node:fs';
import * as prettier from 'prettier';
import { renderCliReference } from './cli-reference';
import { renderConfigReference } from './config-reference';
import { fromRoot } from './repo-root';

export interface GeneratedPage {
  /** Path from the repository root. */
  path: string;
  content: string;
}

export const GENERATED_PATHS = ['docs/configuration.md', 'docs/cli.md'] as const;

export async function generatedPages(): Promise<GeneratedPage[]> {
  const options = (await prettier.resolveConfig(fromRoot('docs/configuration.md'))) ?? {};
  const format = (text: string) => prettier.format(text, { ...options, parser: 'markdown' });
  return [
    { path: 'docs/configuration.md', content: await format(renderConfigReference()) },
    { path: 'docs/cli.md', content: await format(renderCliReference()) },
  ];
}

/** The pages whose committed text differs from what the code generates now. */
export async function stalePages(
  read = (path: string) => readFileSync(fromRoot(path), 'utf8'),
): Promise<string[]> {
  const stale: string[] = [];
  for (const page of await generatedPages()) {
    let committed: string | undefined;
    try {
      committed = read(page.path);
    } catch {
      committed = undefined;
    }
    if (committed !== page.content) stale.push(page.path);
  }
  return stale;
}
