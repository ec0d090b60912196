export { ConsoleModule } from './console.module';
export { startConsoleApp } from './bootstrap';
export { ConsoleConfig, consoleConfigSchema } from './console.config';
export type { ConsoleConfigValues } from './console.config';
