export { InferenceModule } from './inference.module';
export { startInferenceApp } from './bootstrap';
export { InferenceConfig } from './inference.config';
export type { InferenceConfigValues } from './inference.config';
/** The model a gateway serves right now (the inference benchmark waits on it across promotions). */
export { ModelHolder } from './model/model-holder';
/** The gateway's model.promoted queue (tests clean it up and read its dead letters). */
export { MODEL_PROMOTED_QUEUE } from './model/model-promoted.consumer';
