export { DataModule } from './data.module';
export { startDataApp } from './bootstrap';
export { DataConfig, dataConfigSchema } from './data.config';
export type { DataConfigValues } from './data.config';
