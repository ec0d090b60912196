import { Injectable } from '@nestjs/common';
import { AppMetricsRegistry, counter, gauge, histogram } from '@sepal/observability';

/** Prometheus metrics of the trainer, served at its `/metrics` (AppMetricsRegistry). */
@Injectable()
export class TrainerMetrics {
  readonly runs = counter({
    name: 'sepal_training_runs_total',
    help: 'Training jobs by final status (finished, failed, rejected; duplicate: a copy of a handled message)',
    labelNames: ['status'],
  });

  readonly duration = histogram({
    name: 'sepal_training_run_duration_seconds',
    help: 'Wall time of a training job, from message to recorded outcome',
    labelNames: ['status'],
    buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
  });

  readonly trials = gauge({
    name: 'sepal_sweep_trials',
    help: 'Trials (grid combinations) of the last sweep, per dataset',
    labelNames: ['dataset'],
  });

  readonly bestValAccuracy = gauge({
    name: 'sepal_sweep_best_val_accuracy',
    help: 'Validation accuracy of the selected trial of the last sweep, per dataset',
    labelNames: ['dataset'],
  });

  readonly testAccuracy = gauge({
    name: 'sepal_training_test_accuracy',
    help: 'Test accuracy of the last selected model, per dataset',
    labelNames: ['dataset'],
  });

  readonly jobsInProgress = gauge({
    name: 'sepal_training_jobs_in_progress',
    help: 'Jobs this process is running',
  });

  readonly driftAlerts = counter({
    name: 'sepal_drift_alerts_total',
    help: "drift.detected alerts by model and what the trainer did: retrain (requested) or skipped (no dataset version newer than the champion's, or RETRAIN_ON_DRIFT=false)",
    labelNames: ['model', 'action'],
  });

  constructor(registry: AppMetricsRegistry = new AppMetricsRegistry()) {
    registry.addMetricsOf(this);
  }
}
