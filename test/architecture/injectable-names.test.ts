import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');

/**
 * The roles an injectable's file is named by: what it does for the app says where it sits (Immich's and the NestJS
 * samples' convention). `registry` is observability's own: the health and metrics registries.
 */
const ROLES = [
  'service',
  'repository',
  'controller',
  'guard',
  'interceptor',
  'consumer',
  'module',
  'registry',
];
const NAMED_BY_ROLE = new RegExp(`\\.(${ROLES.join('|')})\\.ts$`);

/** The production source files of the apps and libraries (git's list, so the check sees what is committed). */
function sources(): string[] {
  return execFileSync('git', ['ls-files', 'apps/*/src/**/*.ts', 'libs/*/src/**/*.ts'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((file) => file !== '' && !file.endsWith('.spec.ts'));
}

/** Whether `text` declares a Nest injectable: the decorator at the start of a line, not in a comment. */
export function declaresInjectable(text: string): boolean {
  return /^@Injectable\(/m.test(text);
}

describe('injectables are named by role', () => {
  it('finds the decorator only where it is applied', () => {
    expect(declaresInjectable('@Injectable()\nexport class A {}')).toBe(true);
    expect(declaresInjectable(' * an @Injectable() in a comment\nexport class A {}')).toBe(false);
  });

  it(`names every file that declares an @Injectable *.{${ROLES.join(',')}}.ts`, () => {
    const files = sources();
    expect(files.length).toBeGreaterThan(100);
    const unnamed = files.filter(
      (file) => declaresInjectable(readFileSync(join(ROOT, file), 'utf8')) && !NAMED_BY_ROLE.test(file),
    );
    expect(unnamed).toEqual([]);
  });
});
