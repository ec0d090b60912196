export const HIDDEN_ACTIVATIONS = ['relu', 'tanh', 'sigmoid'] as const;
export const OPTIMIZERS = ['adam', 'sgd', 'rmsprop'] as const;

export type HiddenActivation = (typeof HIDDEN_ACTIVATIONS)[number];
export type OptimizerName = (typeof OPTIMIZERS)[number];

/** Everything the trainer needs to fit one dense classifier. */
export interface TrainingParams {
  learningRate: number;
  hiddenUnits: number;
  hiddenLayers: number;
  activation: HiddenActivation;
  optimizer: OptimizerName;
  epochs: number;
  batchSize: number;
  /** Epochs without validation improvement before stopping; 0 turns early stopping off. */
  earlyStoppingPatience: number;
  /** L2 penalty on the kernels; 0 turns it off. */
  l2: number;
}

export type TrainingParamName = keyof TrainingParams;

/** A set that trains Iris well in a few seconds. */
export const DEFAULT_TRAINING_PARAMS: Readonly<TrainingParams> = Object.freeze({
  learningRate: 0.01,
  hiddenUnits: 16,
  hiddenLayers: 1,
  activation: 'relu',
  optimizer: 'adam',
  epochs: 100,
  batchSize: 16,
  earlyStoppingPatience: 10,
  l2: 0,
});

export type ParamDefinition =
  | { kind: 'number'; integer: boolean; min: number; minExclusive: boolean; max?: number }
  | { kind: 'choice'; choices: readonly string[] };

/** Declared types and bounds, in the canonical order used to name parameters and expand grids. */
export const TRAINING_PARAM_DEFINITIONS: { readonly [K in TrainingParamName]: ParamDefinition } = {
  learningRate: { kind: 'number', integer: false, min: 0, minExclusive: true },
  hiddenUnits: { kind: 'number', integer: true, min: 1, minExclusive: false },
  hiddenLayers: { kind: 'number', integer: true, min: 1, minExclusive: false, max: 4 },
  activation: { kind: 'choice', choices: HIDDEN_ACTIVATIONS },
  optimizer: { kind: 'choice', choices: OPTIMIZERS },
  epochs: { kind: 'number', integer: true, min: 1, minExclusive: false },
  batchSize: { kind: 'number', integer: true, min: 1, minExclusive: false },
  earlyStoppingPatience: { kind: 'number', integer: true, min: 0, minExclusive: false },
  l2: { kind: 'number', integer: false, min: 0, minExclusive: false },
};

export const TRAINING_PARAM_NAMES = Object.keys(TRAINING_PARAM_DEFINITIONS) as TrainingParamName[];

export function isTrainingParamName(name: string): name is TrainingParamName {
  return Object.prototype.hasOwnProperty.call(TRAINING_PARAM_DEFINITIONS, name);
}

/** Why `value` is not acceptable for `name`, or undefined when it is. */
export function paramValueProblem(name: TrainingParamName, value: unknown): string | undefined {
  const definition = TRAINING_PARAM_DEFINITIONS[name];
  const shown = JSON.stringify(value) ?? String(value);
  if (definition.kind === 'choice') {
    if (typeof value !== 'string') return `${name}: ${shown} is a ${typeOf(value)}, expected a string`;
    if (!definition.choices.includes(value)) {
      return `${name}: ${shown} is not one of ${definition.choices.join(', ')}`;
    }
    return undefined;
  }
  if (typeof value !== 'number') return `${name}: ${shown} is a ${typeOf(value)}, expected a number`;
  if (!Number.isFinite(value)) return `${name}: ${value} is not a finite number`;
  if (definition.integer && !Number.isInteger(value)) return `${name}: ${value} is not an integer`;
  const belowMin = definition.minExclusive ? value <= definition.min : value < definition.min;
  const aboveMax = definition.max !== undefined && value > definition.max;
  if (belowMin || aboveMax)
    return `${name}: ${value} is out of bounds, expected ${describeBounds(definition)}`;
  return undefined;
}

function describeBounds(definition: { min: number; minExclusive: boolean; max?: number }): string {
  const lower = `${definition.minExclusive ? '>' : '>='} ${definition.min}`;
  return definition.max === undefined ? lower : `${lower} and <= ${definition.max}`;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  return typeof value;
}
