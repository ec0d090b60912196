/** The CLI's public entry, for benchmarks and tools: the all-in-one launcher of `sepal up`. */
export { launchSystem, type LaunchedSystem, type LaunchOptions } from './up/launcher';
