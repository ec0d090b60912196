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
const { runService } = require('../../../dist/libs/http/src/index.js');
// As main.ts starts it: runService owns SIGTERM (stop consuming, drain, hand the running job back, exit).
void runService('trainer', async () => {
  const config = TrainerConfig.load(process.env);
  const app = await startTrainerApp(config);
  process.stdout.write(`READY ${(await app.getUrl()).replace('[::1]', '127.0.0.1')}\n`);
  return { app, config };
});
