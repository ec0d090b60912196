import { Inject, Injectable } from '@nestjs/common';
import type { TrainRequested } from '@sepal/contracts';
import type { FeaturePreprocessing } from '@sepal/ml';
import { DataClient } from '../clients/data-client';
import { RegistryClient } from '../clients/registry-client';
import { TrainerMetrics } from '../metrics/trainer-metrics.service';
import { TrainerConfig, type TrainerConfigValues } from '../trainer.config';
import { EvaluateStep } from './evaluate.step';
import { ExportStep, type ExportInput } from './export.step';
import { GateStep } from './gate.step';
import { ParityStep } from './parity.step';
import type { DatasetReader, EvaluationSets, ModelRegistry, RunOpener, TrackJob } from './pipeline-ports';
import { PromoteStep } from './promote.step';
import { refitMetrics, RefitStep, type RefitFigures } from './refit.step';
import { finalRunMetrics, RegisterStep, type Registered } from './register.step';
import { KeptTrials } from './kept-trial';
import { errorMessage } from '../jobs/job-errors';
import { ResolveDataStep } from './resolve-data.step';
import { ReuseSelectedStep, SelectStep, type Selected } from './select.step';
import { StepRunner, type StepObserver } from './step-runner';
import { importanceMetrics, TrainTrialsStep } from './train-trials.step';
import { TrialTrainer } from '../workers/trial-trainer.service';

/** max |ONNX - TensorFlow.js| of a CNN's probabilities on the test images (PARITY_TOLERANCE when that is larger). */
export const CNN_PARITY_TOLERANCE = 1e-4;

/** Who the job is: fixed for its life. */
export interface PipelineJob {
  job: TrainRequested;
  /** The train.requested message id. */
  jobId: string;
  parentRunId: string;
  seed: number;
}

/** Where one job's pipeline reports: its steps, its parent run, its status view, its log. */
export interface PipelineHooks {
  observer: StepObserver;
  /** Aborted when the job is cancelled or the trainer stops: the running trials stop and the job fails there. */
  signal?: AbortSignal;
  openRun: RunOpener;
  track: TrackJob;
  log(message: string): void;
}

/**
 * A training job from its request to a registered, gated model, as the steps of TRAINER_STEPS. Resolves with a
 * one-line summary once the parent run is closed as finished; throws the failing step's error (JobRejectedError when
 * the job can never succeed as asked), and the caller records the failure. The job runner's port, so its rules can
 * be tested without training.
 */
export abstract class JobPipeline {
  abstract run(job: PipelineJob, hooks: PipelineHooks): Promise<string>;
}

/** The selected model as the export takes it: a tree ensemble with the preprocessing its rows were encoded by. */
function exportable(
  model: Selected['model'],
  treePreprocessing: FeaturePreprocessing | undefined,
): ExportInput['model'] {
  if (model.family === 'dense') return model;
  if (model.family === 'cnn') return { family: 'cnn', spec: model.spec };
  if (treePreprocessing === undefined)
    throw new Error('a tree model was selected without the rows encoded for trees');
  return { family: model.family, model: model.model, preprocessing: treePreprocessing };
}

@Injectable()
export class TrainingPipeline extends JobPipeline {
  constructor(
    @Inject(TrainerConfig) private readonly config: TrainerConfigValues,
    @Inject(DataClient) private readonly data: DatasetReader & Partial<EvaluationSets>,
    @Inject(RegistryClient) private readonly registry: ModelRegistry,
    private readonly metrics: TrainerMetrics,
    private readonly trainer: TrialTrainer,
  ) {
    super();
  }

  /** The data service's frozen evaluation sets, when the reader serves them (the app's DataClient does). */
  private get evaluationSets(): EvaluationSets | undefined {
    const { evaluationSet, evaluationRows } = this.data;
    return evaluationSet && evaluationRows
      ? {
          evaluationSet: evaluationSet.bind(this.data),
          evaluationRows: evaluationRows.bind(this.data),
        }
      : undefined;
  }

  async run({ job, jobId, parentRunId, seed }: PipelineJob, hooks: PipelineHooks): Promise<string> {
    const { config, data, registry, metrics, trainer } = this;
    const { track, log } = hooks;
    const steps = new StepRunner(hooks.observer, undefined, hooks.signal);
    const { dataset } = job;

    // A retry resumes after selection when its failed attempt kept the selected trial (see the registry's retry).
    const resume = job.resume?.fromStep !== 'resolve-data' ? job.resume : undefined;
    const kept = new KeptTrials(registry);
    const resolved = await steps.run(
      new ResolveDataStep({ config, data, trainer, openRun: hooks.openRun, track, log }),
      { job: resume?.datasetVersion ? { ...job, version: resume.datasetVersion } : job, seed },
    );
    const { plan, version, run, test, sweep } = resolved;
    const task = sweep.task;
    let selected: Selected;
    if (resume?.selectedTrialSha256) {
      const reused = { reused_from_attempt: resume.fromAttempt };
      await steps.skip('train-trials', { ...reused, trials: plan.trials.length });
      selected = await steps.run(new ReuseSelectedStep(kept), {
        sha256: resume.selectedTrialSha256,
        fromAttempt: resume.fromAttempt,
      });
    } else {
      const outcome = await steps.run(new TrainTrialsStep({ metrics, track, trainer }), {
        jobId,
        parentRunId,
        dataset,
        seed,
        ...resolved,
        testRows: resolved.testEncoded,
        signal: hooks.signal,
      });
      const keep = async (chosen: Selected, rows: number[][]) => {
        try {
          // Dense models only for now: a tree ensemble is retrained by a retry.
          if (chosen.model.family !== 'dense') return null;
          const testProbabilities = await chosen.model.predictProba(rows);
          const { trial, description } = chosen;
          return await kept.keep({ trial, description, spec: chosen.model.spec, testProbabilities });
        } catch (error) {
          log(
            `the selected trial could not be kept for a retry (${errorMessage(error)}); a retry trains again`,
          );
          return null;
        }
      };
      selected = await steps.run(new SelectStep({ metrics, track, keep }), {
        dataset,
        plan,
        outcome,
        testRows: resolved.testEncoded,
      });
    }
    try {
      let refit: RefitFigures | null = null;
      if (config.TRAIN_REFIT) {
        const refitted = await steps.run(new RefitStep({ trainer }), {
          jobId,
          plan,
          selected,
          sweep,
          seed,
          testRows: resolved.testEncoded,
          signal: hooks.signal,
        });
        selected = refitted.selected;
        refit = refitted.figures;
      } else {
        await steps.skip('refit', {
          refit: false,
          reason: 'TRAIN_REFIT=false: the selected trial is evaluated',
        });
      }
      const { model } = selected;
      const labels = version.schema.labels;
      const { probabilities, evaluation, headline } = await steps.run(new EvaluateStep({ metrics, track }), {
        dataset,
        model,
        test,
        // A tree model scores the rows encoded for trees; a network the rows encoded for it (a CNN: the token of the
        // test images it scored, see cnnTrial).
        testRows:
          model.family === 'dense' || model.family === 'cnn'
            ? resolved.testEncoded
            : (resolved.sweep.trees?.test ?? []),
        labels,
        task,
        tolerance: config.REGRESSION_TOLERANCE,
        ...(resolved.images ? { testIds: resolved.images.test.hashes } : {}),
      });
      const exported = await steps.run(new ExportStep(), {
        job,
        parentRunId,
        version,
        model: exportable(model, resolved.sweep.trees?.preprocessing),
        train: resolved.train,
        ...(resolved.images ? { trainImages: resolved.images.train } : {}),
      });
      const trialCount = plan.trials.length;
      // A CNN's float32 convolutions sum in another order in onnxruntime: its probabilities agree to 1e-4.
      const tolerance = resolved.images
        ? Math.max(config.PARITY_TOLERANCE, CNN_PARITY_TOLERANCE)
        : config.PARITY_TOLERANCE;
      const parity = await steps.run(new ParityStep({ tolerance }), {
        parentRunId,
        run,
        trialCount,
        bytes: exported.bytes,
        test,
        probabilities,
        task,
        ...(resolved.images ? { testImages: resolved.images.test } : {}),
      });
      const figures = {
        ...evaluation.metrics,
        ...parity.metrics,
        ...refitMetrics(refit),
        // A tree model's feature importance, shown by the run view and `sepal runs show`.
        ...importanceMetrics(selected.trial.featureImportance, version.schema.features),
      };
      let registered: Registered;
      if (resume?.registered) {
        // Registered by the failed attempt: registering again would add a second version of the same model.
        const { modelName, version: modelVersion, sha256 } = resume.registered;
        registered = {
          modelName,
          version: modelVersion,
          sha256,
          artifactUrl: '',
          metrics: finalRunMetrics(figures, selected.trial, trialCount),
        };
        await steps.skip('register', {
          modelName,
          modelVersion,
          sha256,
          reused_from_attempt: resume.fromAttempt,
        });
      } else {
        registered = await steps.run(new RegisterStep({ registry }), {
          jobId,
          parentRunId,
          dataset,
          run,
          version,
          trialCount,
          selected,
          metrics: figures,
          exported,
        });
      }
      const testAccuracy = evaluation.metrics.test_accuracy ?? 0;
      const { decision } = await steps.run(
        new GateStep({
          registry,
          policy: { minImprovement: config.GATE_MIN_IMPROVEMENT, minAccuracy: config.GATE_MIN_ACCURACY },
          // An image model's frozen set is not scored from an artifact yet: it is gated on its test split.
          evaluationSets: resolved.images ? undefined : this.evaluationSets,
          promotionPolicy: config.PROMOTION_POLICY,
          log,
        }),
        {
          modelName: registered.modelName,
          dataset,
          candidateBytes: exported.bytes,
          trigger: job.reason,
          version: registered.version,
          testAccuracy,
          datasetVersion: version.id,
          test,
          task,
          metrics: registered.metrics,
          tolerance: config.REGRESSION_TOLERANCE,
        },
      );
      const promoted = await steps.run(new PromoteStep({ registry, track }), {
        parentRunId,
        run,
        modelName: registered.modelName,
        version: registered.version,
        sha256: registered.sha256,
        decision,
        metrics: registered.metrics,
        evaluationTags: evaluation.tags,
        selectedParams: selected.trial.params,
      });
      return (
        `${promoted.modelName} v${promoted.version} ${promoted.gateDecision} (${headline.metric} ` +
        `${headline.value.toFixed(4)}, parity ${parity.report.maxAbsDifference.toExponential(2)}): ${decision.reason}`
      );
    } finally {
      selected.model.dispose();
    }
  }
}
