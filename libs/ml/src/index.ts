export type { Activation, DenseClassifierSpec, DenseLayerSpec, DenseRegressorSpec } from './model/dense-spec';
export { fitStandardizer, standardize, type StandardizerSpec } from './preprocessing/standardizer';
export { argmax, predictProba, predictValues } from './model/forward';
export { applyActivation, sigmoid, softmax } from './model/activations';
export {
  assertValidDenseClassifierSpec,
  assertValidDenseRegressorSpec,
  denseClassifierSpecProblems,
  denseInputPreprocessing,
  denseRegressorSpecProblems,
} from './model/validate-dense-spec';
export {
  CNN_PARAM_LIMITS,
  cnnArchitecture,
  cnnLayerShapes,
  cnnParamsProblems,
  convOutputSize,
  DEFAULT_CNN_PARAMS,
  samePadding,
  type CnnClassifierSpec,
  type CnnLayer,
  type CnnLayerSpec,
  type CnnParams,
  type ConvPadding,
  type ImageShape,
} from './model/cnn-spec';
export { assertValidCnnClassifierSpec, cnnClassifierSpecProblems } from './model/validate-cnn-spec';
export { randomCnnClassifierSpec } from './model/random-cnn';
export {
  exportCnnClassifierToOnnx,
  imageInputMetadata,
  type ImageInputType,
} from './onnx/export-cnn-classifier';
export { encodeIdx, MAX_IDX_BYTES, parseIdx, type IdxArray } from './images/idx';
export { FASHION_MNIST_CLASSES } from './images/fashion-mnist';
export { readZipEntries, writeZip, ZipFormatError, type ZipEntry } from './images/zip';
export { classificationReport, type ClassificationReport, type ClassMetrics } from './metrics/classification';
export { confusionMatrix } from './metrics/confusion-matrix';
export { LOG_LOSS_EPSILON, logLoss } from './metrics/log-loss';
export {
  DEFAULT_TRAINING_PARAMS,
  HIDDEN_ACTIVATIONS,
  isTrainingParamName,
  OPTIMIZERS,
  paramValueProblem,
  TRAINING_PARAM_DEFINITIONS,
  TRAINING_PARAM_NAMES,
  type HiddenActivation,
  type OptimizerName,
  type ParamDefinition,
  type TrainingParamName,
  type TrainingParams,
} from './tuning/training-params';
export {
  countGridCombinations,
  DEFAULT_GRID,
  expandGrid,
  MAX_GRID_COMBINATIONS,
  validateGrid,
  type TrainingParamGrid,
} from './tuning/grid';
export { parseGridArg, type RawGrid } from './tuning/parse-grid-arg';
export { exportDenseClassifierToOnnx } from './onnx/export-dense-classifier';
export {
  ONNX_CATEGORICAL_INPUT,
  ONNX_INPUT_NAME,
  ONNX_IR_VERSION,
  ONNX_LABEL_OUTPUT,
  ONNX_ML_DOMAIN,
  ONNX_ML_OPSET_VERSION,
  ONNX_MODEL_INDEX_INPUT,
  ONNX_OPSET_VERSION,
  ONNX_PROBABILITIES_OUTPUT,
  ONNX_PRODUCER_NAME,
  ONNX_VALUE_OUTPUT,
} from './onnx/onnx-model';
export { readOnnxMetadata } from './onnx/read-metadata';
export {
  DEFAULT_ONNX_POLICY,
  OnnxValidationError,
  validateOnnxModel,
  type OnnxPolicy,
  type OnnxSummary,
} from './onnx/validate-onnx';
export { classifierStackKey, stackClassifiers } from './onnx/stack-classifiers';
export {
  DEFAULT_PSI_BINS,
  DEFAULT_PSI_EPSILON,
  fitPsiReference,
  populationStabilityIndex,
  psiAgainstReference,
  psiBinIndex,
  psiFromBinCounts,
  psiPerFeature,
  type PsiOptions,
  type PsiReference,
} from './drift/psi';
export {
  classIndexReference,
  fitImageDriftReference,
  imageDriftRows,
  imageMeanIntensities,
  type ImageDriftReference,
} from './drift/image-drift';
export { createRng, deriveSeed } from './util/random';
export type { ValidationResult } from './util/result';
export {
  splitRank,
  stableStratifiedSplit,
  type SplitItem,
  type SplitName,
  type SplitOptions,
} from './split/stable-stratified-split';
export {
  DEFAULT_TRAINING_LIMITS,
  denseParameterCount,
  overLimitMessage,
  TRAINING_LIMIT_VARIABLES,
  trainingLimitProblems,
  type DataShape,
  type TrainingLimits,
} from './tuning/training-limits';
export type {
  BoostingRoundMetrics,
  DecisionTree,
  GradientBoostingModel,
  RandomForestModel,
  TreeEnsembleModel,
} from './trees/tree-model';
export {
  defaultGradientBoostingParams,
  defaultRandomForestParams,
  CLASS_WEIGHTS,
  featuresPerSplit,
  gradientBoostingParamProblems,
  MAX_ENSEMBLE_TREES,
  MAX_TREE_BINS,
  MAX_TREE_DEPTH,
  randomForestParamProblems,
  resolveGradientBoostingParams,
  resolveRandomForestParams,
  type ClassWeight,
  type FeatureFraction,
  type GradientBoostingParams,
  type GradientBoostingParamsInput,
  type RandomForestParams,
  type RandomForestParamsInput,
  type TreeTask,
} from './trees/tree-params';
export {
  classWeightsOf,
  mergeRandomForests,
  partitionTreeIndices,
  trainRandomForest,
  type RandomForestOptions,
} from './trees/random-forest';
export { trainGradientBoosting, type GradientBoostingOptions } from './trees/gradient-boosting';
export type { LabelledRows } from './trees/tree-data';
export { predictTreeProbabilities, predictTreeValues, treeFeatureImportance } from './trees/predict-trees';
export { packedTreeBuffers, packTrees, unpackTrees, type PackedTrees } from './trees/packed-trees';
export { assertValidTreeEnsemble, treeEnsembleProblems } from './trees/validate-tree-model';
export {
  exportTreeEnsembleClassifierToOnnx,
  exportTreeEnsembleRegressorToOnnx,
  exportTreeEnsembleToOnnx,
} from './onnx/export-tree-ensemble';
export {
  countModelGridCombinations,
  DEFAULT_FOREST_PARAMS,
  DEFAULT_GBDT_PARAMS,
  REGRESSION_FOREST_FEATURE_FRACTION,
  DEFAULT_TRAIN_BUDGET_S,
  DEFAULT_TREE_LIMITS,
  CNN_DEFINITIONS,
  cnnConvolutionMacs,
  DEFAULT_IMAGE_GRID,
  defaultGridOf,
  defaultModelGrid,
  estimateCnnSeconds,
  type CnnTrial,
  describeTrialParams,
  estimateTrialSeconds,
  expandModelGrid,
  FAMILY_PARAM_NAMES,
  familyParamValue,
  forestParamsOf,
  gbdtParamsOf,
  isModelFamily,
  MAX_SUB_GRIDS,
  MODEL_FAMILIES,
  refitTrialParams,
  resolveFixedParams,
  TABLE_FAMILIES,
  TREE_LIMIT_VARIABLES,
  treesGrown,
  trialLimitProblems,
  validateModelGrid,
  type CheckedGrid,
  type DenseTrial,
  type FamilyGrid,
  type ForestTrial,
  type ForestTrialParams,
  type GbdtTrial,
  type GbdtTrialParams,
  type ModelFamily,
  type ModelGrid,
  type TreeLimits,
  type TrialParams,
} from './tuning/model-families';
export { exportDenseRegressorToOnnx } from './onnx/export-dense-classifier';
export { buildPreprocessingGraph, type PreprocessingGraph } from './onnx/preprocessing-graph';
export {
  columnsByType,
  encodedFeatureNames,
  sumByColumn,
  encodedWidth,
  encodeFeatureRows,
  featurePreprocessingProblems,
  featureTensorValues,
  fitFeaturePreprocessing,
  isMissingCell,
  numericPreprocessing,
  type FeatureCell,
  type FeatureColumn,
  type FeatureColumnType,
  type FeaturePreprocessing,
  type FitPreprocessingOptions,
} from './preprocessing/feature-preprocessing';
export { DEFAULT_REGRESSION_TOLERANCE, regressionReport, type RegressionReport } from './metrics/regression';
