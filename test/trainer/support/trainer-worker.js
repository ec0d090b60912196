/* A trainer in its own Node process, for the failover test: the built app, as in production. */
/* global require, __dirname, process */
/* eslint-disable @typescript-eslint/no-require-imports */
const path = require('node:path');
const { existsSync } = require('node:fs');

const entry = path.resolve(__dirname, '../../../dist/apps/trainer/src/index.js');
if (!existsSync(entry)) {
  process.stderr.write(`${entry} is missing: run \`npm run build\` first (npm test does).\n`);
  process.exit(1);
}
const { startTrainerApp, TrainerConfig } = require('../../../dist/apps/trainer/src/index.js');
startTrainerApp(TrainerConfig.load(process.env))
  .then((app) => app.getUrl())
  .then((url) => process.stdout.write(`READY ${url.replace('[::1]', '127.0.0.1')}\n`))
  .catch((error) => {
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exit(1);
  });
