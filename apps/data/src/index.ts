export { DataModule } from './data.module';
export { startDataApp } from './bootstrap';
export { DataConfig } from './data.config';
export type { DataConfigValues } from './data.config';
