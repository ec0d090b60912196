export { TrainerModule } from './trainer.module';
export { startTrainerApp } from './bootstrap';
export { TrainerConfig, trainerConfigSchema } from './trainer.config';
/** The heap each trial worker may use beyond TRIAL_MEMORY_MB (the Kubernetes manifests size the trainer by it). */
export { WORKER_HEAP_ALLOWANCE_MB } from './workers/trial-pool';
export type { TrainerConfigValues } from './trainer.config';
export { decidePromotion } from './promotion/promotion-gate';
/** The run id a job's first attempt gets from its train.requested messageId (tests find a job's runs by it). */
export { firstAttemptRunId } from './jobs/run-ids';
/** How many misclassified test examples a run's `misclassified` tag keeps at most (tests check the tag against it). */
export { MISCLASSIFIED_EXAMPLES } from './evaluation/evaluation';
/** The training core, for the training benchmark (bench/train.ts). */
export { trainDenseClassifier } from './training/dense-classifier';
export { loadTensorFlow } from './training/tf-backend';
export type { BackendPreference, TensorFlowHandle } from './training/tf-backend';
export { carveStratifiedHoldout } from './training/validation-split';
/** The CNN family's training core, for the image benchmark (bench/images-quality.ts) until it joins the pipeline. */
export { trainCnnClassifier } from './training/cnn-model';
/** Batch scoring's worker and its CSV reading, for the batch benchmark (bench/batch.ts) and its tests. */
export { scoreInWorker } from './batch/scoring/batch-scorer';
export { csvCells } from './batch/scoring/csv-lines';
export { IRIS_FEATURES, irisShapedModel } from './batch/scoring/iris-model';
