/** The registered model of a dataset when a job names none: `iris` → `IrisModel`, `wine-quality-red` → `WineQualityRedModel`. */
export function defaultModelName(dataset: string): string {
  const pascal = dataset
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join('');
  return `${pascal}Model`;
}

/** The inverse of defaultModelName, for events that name only the model (drift): `IrisModel` → `iris`. */
export function datasetOfDefaultModel(modelName: string): string {
  return modelName
    .replace(/Model$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase();
}
