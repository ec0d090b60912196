/** The CLI's public entry, for benchmarks and tools: the all-in-one launcher of `sepal up`. */
export { launchSystem, type LaunchedSystem, type LaunchOptions } from './up/launcher';
/** The command line's program (commands, arguments, options): the CLI reference in docs/cli.md is generated from it. */
export { buildCli, runCli } from './cli';
