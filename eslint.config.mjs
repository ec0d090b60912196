import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import sepalRules from './eslint-rules/app-boundaries.mjs';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.sepal/**', 'coverage/**', 'jest.config.js', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'off',
      'no-console': 'off',
    },
  },
  {
    // Every file, tests and benchmarks included: see eslint-rules/app-boundaries.mjs.
    plugins: { sepal: sepalRules },
    rules: { 'sepal/app-boundaries': 'error' },
  },
);
