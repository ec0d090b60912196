/*
 * `npm run docs:generate`: writes the generated pages of the manual, docs/configuration.md (from the zod configuration
 * schemas) and docs/cli.md (from the CLI's commander program). `--check` writes nothing and exits 1 naming the pages
 * that differ from the code. test/tooling/generated-docs.test.ts runs the same check.
 *
 * Run it from the repository's root after changing a configuration variable, its comment or a CLI command.
 */
import { writeFileSync } from 'node:fs';
import { generatedPages, stalePages } from './docs/generated-docs';
import { fromRoot } from './docs/repo-root';

async function main(args: string[]): Promise<number> {
  if (args.includes('--check')) {
    const stale = await stalePages();
    for (const path of stale)
      process.stderr.write(`${path} differs from the code: run \`npm run docs:generate\`\n`);
    return stale.length === 0 ? 0 : 1;
  }
  for (const page of await generatedPages()) {
    writeFileSync(fromRoot(page.path), page.content);
    process.stdout.write(`wrote ${page.path}\n`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
