#!/usr/bin/env node
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const entry = join(__dirname, '..', 'dist', 'apps', 'sepal', 'src', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write('sepal is not built yet: run `npm run build` in the repository first.\n');
  process.exit(2);
}
require(entry);
