export { ConsoleModule } from './console.module';
export { startConsoleApp } from './bootstrap';
export { ConsoleConfig } from './console.config';
export type { ConsoleConfigValues } from './console.config';
