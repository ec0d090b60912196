import { numericPreprocessing } from '@sepal/ml';
import type { SweepData } from '../../src/sweep/grid-search';
import { splitIris } from './iris';
import { trainTreeTrial } from '../../src/training/tree-trial';
import {
  TrialTrainer,
  treeTrial,
  type TrainedTrial,
  type TrialRequest,
} from '../../src/workers/trial-trainer.service';

/** Iris split by `seed` as a sweep of the tree families (numeric columns, encoded as themselves), and its test rows. */
export function irisTreeSweep(seed: number): { data: SweepData; test: number[][] } {
  const iris = splitIris(seed);
  return {
    data: {
      xFit: iris.train.x,
      yFit: iris.train.y,
      xVal: iris.validation.x,
      yVal: iris.validation.y,
      labels: iris.labels,
      featureNames: iris.featureNames,
      trees: {
        preprocessing: numericPreprocessing(iris.featureNames),
        xFit: iris.train.x,
        xVal: iris.validation.x,
        test: iris.test.x,
      },
    },
    test: iris.test.x,
  };
}

/** Trees on the calling thread, `concurrency` at once (forests are grown in that many parts), recording each request. */
export class TreeTrainer extends TrialTrainer {
  readonly requests: TrialRequest[] = [];
  constructor(readonly concurrency = 1) {
    super();
  }
  async backend(): Promise<'cpu'> {
    return 'cpu';
  }
  async train(request: TrialRequest): Promise<TrainedTrial> {
    this.requests.push(request);
    if (request.family === 'dense' || request.family === 'cnn') throw new Error('tree trials only here');
    return treeTrial(trainTreeTrial(request), request.predictRows);
  }
}
