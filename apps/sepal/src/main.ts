import { runCli } from './cli';

const argv = process.argv.slice(2);
void runCli(argv).then((code) => {
  // `sepal up` keeps serving after its command returns; every other command exits with its code.
  if (!(code === 0 && argv.includes('up'))) process.exit(code);
});
