import { readdirSync } from 'node:fs';
import { z } from 'zod';
import { fromRoot } from '../../scripts/docs/repo-root';
import { APP_SOURCES, BASE_SOURCE, configRows, describeType } from '../../scripts/docs/config-reference';
import { cliProgram, renderCliReference } from '../../scripts/docs/cli-reference';
import { GENERATED_PATHS, stalePages } from '../../scripts/docs/generated-docs';

jest.setTimeout(120_000);

describe('the generated references (docs/configuration.md, docs/cli.md)', () => {
  it('match what the code generates now', async () => {
    const stale = await stalePages();
    if (stale.length > 0) {
      throw new Error(
        `${stale.join(' and ')} ${stale.length === 1 ? 'differs' : 'differ'} from the code: ` +
          'run `npm run docs:generate` and commit the result.',
      );
    }
    expect(stale).toEqual([]);
  });

  it('notice a page that drifted', async () => {
    const edited = (path: string) => (path === GENERATED_PATHS[1] ? '# an old CLI page\n' : '');
    expect(await stalePages(edited)).toEqual([...GENERATED_PATHS]);
  });

  it('cover every configuration schema of every app', () => {
    const files = readdirSync(fromRoot('apps')).flatMap((app) =>
      readdirSync(fromRoot(`apps/${app}/src`))
        .filter((file) => file.endsWith('.config.ts'))
        .map((file) => `apps/${app}/src/${file}`),
    );
    expect(APP_SOURCES.map((s) => s.file).sort()).toEqual(files.sort());
  });

  it('describe every variable of every schema', () => {
    const undescribed = [BASE_SOURCE, ...APP_SOURCES].flatMap((source) =>
      configRows(source, Object.keys(source.schema.shape))
        .filter((row) => row.description === '')
        .map((row) => `${row.name} (${source.file})`),
    );
    if (undescribed.length > 0) {
      throw new Error(
        `no description for ${undescribed.join(', ')}: write a JSDoc comment above each in its schema, ` +
          'then run `npm run docs:generate`.',
      );
    }
  });

  it('word types and ranges from the schema', () => {
    const type = (schema: z.ZodType) => describeType(z.toJSONSchema(schema, { io: 'input' }) as never);
    expect(type(z.coerce.number().int().min(0).max(5000))).toBe('integer 0–5,000');
    expect(type(z.coerce.number().gt(0).lt(1))).toBe('number in (0, 1)');
    expect(type(z.coerce.number().min(-1).max(1))).toBe('number -1 to 1');
    expect(type(z.enum(['json', 'pretty']))).toBe('`json` | `pretty`');
    expect(type(z.string().url())).toBe('URL');
    expect(type(z.string().min(16))).toBe('string of 16+ characters');
  });

  it('list every command of the CLI program', () => {
    const page = renderCliReference(cliProgram());
    for (const command of cliProgram().commands) {
      expect(page).toContain(`## \`sepal ${command.name()}\``);
      for (const sub of command.commands)
        expect(page).toContain(`### \`sepal ${command.name()} ${sub.name()}\``);
    }
  });
});
