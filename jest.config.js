/* Jest projects: "unit" needs no service; "integration" talks to PostgreSQL/RabbitMQ (or the embedded adapters). */
// Transpile only: type checking is `npm run lint`'s job, and per-file transpilation keeps the suite fast.
const tsJest = ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json', diagnostics: false }];
const moduleNameMapper = {
  '^@sepal/([a-z-]+)$': '<rootDir>/libs/$1/src',
  '^@sepal/([a-z-]+)/(.*)$': '<rootDir>/libs/$1/src/$2',
};
const common = {
  rootDir: __dirname,
  transform: { '^.+\\.ts$': tsJest },
  moduleNameMapper,
  testEnvironment: 'node',
};
module.exports = {
  // Generous: a loaded 2-core machine (CI, a build beside the tests) must not turn a slow setup into a failure.
  testTimeout: 30_000,
  // A worker that holds more than this after a test file is replaced by a fresh one: modules, WASM instances and
  // embedded databases of earlier files otherwise pile up (past 6 GB in one process) and slow every later file down.
  workerIdleMemoryLimit: '1GB',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/**/src/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/{apps,libs}/**/test/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
    },
  ],
};
