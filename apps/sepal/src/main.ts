import { runCli } from './cli';

/** Resolves once everything written to `stream` so far has been handed to the OS (a pipe may take it in pieces). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}

const argv = process.argv.slice(2);
void runCli(argv).then(async (code) => {
  process.exitCode = code;
  // `sepal up` keeps serving after its command returns; every other command ends with its code once its output is
  // out (process.exit before that would cut a piped answer at the pipe's 64 KiB buffer).
  if (code === 0 && argv.includes('up')) return;
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
});
