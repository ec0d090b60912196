export { InferenceModule } from './inference.module';
export { startInferenceApp } from './bootstrap';
export { InferenceConfig } from './inference.config';
export type { InferenceConfigValues } from './inference.config';
