/* A trainer in its own Node process, for the failover test: TypeScript compiled on the fly with SWC. */
/* global require, __dirname, process */
/* eslint-disable @typescript-eslint/no-require-imports */
const path = require('node:path');
const Module = require('node:module');
const { addHook } = require('pirates');
const swc = require('@swc/core');

const root = path.resolve(__dirname, '../../../..');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const alias = /^@sepal\/([a-z-]+)(\/.*)?$/.exec(request);
  const target = alias ? path.join(root, 'libs', alias[1], 'src', alias[2] ?? '') : request;
  return resolve.call(this, target, ...rest);
};
addHook(
  (code, filename) =>
    swc.transformSync(code, {
      filename,
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2022',
        keepClassNames: true,
      },
      module: { type: 'commonjs' },
    }).code,
  { exts: ['.ts'], ignoreNodeModules: true },
);

const { startTrainerApp, TrainerConfig } = require(path.join(root, 'apps/trainer/src'));
startTrainerApp(TrainerConfig.load(process.env))
  .then((app) => app.getUrl())
  .then((url) => process.stdout.write(`READY ${url.replace('[::1]', '127.0.0.1')}\n`))
  .catch((error) => {
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exit(1);
  });
