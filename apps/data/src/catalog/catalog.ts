import { DatasetDefinition } from './dataset-definition';

const WINE_FEATURES = [
  'fixed acidity',
  'volatile acidity',
  'citric acid',
  'residual sugar',
  'chlorides',
  'free sulfur dioxide',
  'total sulfur dioxide',
  'density',
  'pH',
  'sulphates',
  'alcohol',
];

export const IRIS: DatasetDefinition = {
  name: 'iris',
  description: 'UCI Iris (Fisher, 1936): 150 flowers, 4 measurements in cm, 3 species.',
  task: 'classification',
  file: 'iris/iris.data',
  format: { delimiter: ',', header: false },
  features: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
  target: 'species',
  classes: ['Iris-setosa', 'Iris-versicolor', 'Iris-virginica'],
  cleaningRules: [
    {
      id: 'uci-iris-erratum-35',
      row: 35,
      expect: { petal_width: 0.1 },
      set: { petal_width: 0.2 },
      reference:
        "iris.names §8: the 35th sample should be 4.9,3.1,1.5,0.2,'Iris-setosa' (error in the fourth feature)",
    },
    {
      id: 'uci-iris-erratum-38',
      row: 38,
      expect: { sepal_width: 3.1, petal_length: 1.5 },
      set: { sepal_width: 3.6, petal_length: 1.4 },
      reference:
        "iris.names §8: the 38th sample should be 4.9,3.6,1.4,0.1,'Iris-setosa' (errors in the second and third features)",
    },
  ],
  source: 'UCI Machine Learning Repository, Iris, CC BY 4.0',
};

const wine = (colour: 'red' | 'white'): DatasetDefinition => ({
  name: `wine-quality-${colour}`,
  description: `UCI Wine Quality (Cortez et al., 2009), ${colour} vinho verde: 11 physico-chemical inputs, sensory score 0-10 as class.`,
  task: 'classification',
  file: `wine-quality/winequality-${colour}.csv`,
  format: { delimiter: ';', header: true },
  features: WINE_FEATURES,
  target: 'quality',
  cleaningRules: [],
  source: 'UCI Machine Learning Repository, Wine Quality, CC BY 4.0',
});

export const DATASET_CATALOG: readonly DatasetDefinition[] = [IRIS, wine('red'), wine('white')];

export function findDefinition(name: string): DatasetDefinition | undefined {
  return DATASET_CATALOG.find((definition) => definition.name === name);
}
