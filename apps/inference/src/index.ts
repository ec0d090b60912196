export { InferenceModule } from './inference.module';
export { startInferenceApp } from './bootstrap';
export { InferenceConfig, inferenceConfigSchema } from './inference.config';
export type { InferenceConfigValues } from './inference.config';
/** The models a gateway serves right now (the inference benchmark waits on them across promotions). */
export { ModelManager } from './model/model-manager.service';
export { ModelStacks } from './stacking/model-stacks.service';
/** The gateway's model.promoted and model.traffic queues (tests clean them up and read their dead letters). */
export { MODEL_PROMOTED_QUEUE, MODEL_TRAFFIC_QUEUE } from './model/updates/model-promoted.consumer';
/** The gateway's metrics and the per-model request buckets (the per-model request benchmark counts with them). */
export { InferenceMetrics } from './metrics/inference-metrics.service';
export { REQUEST_BUCKETS } from './metrics/model-requests';
export { PredictionLog } from './prediction-log/prediction-log.service';
