import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventNames, OnnxMetadataKeys, type OnnxImageInput } from '@sepal/contracts';
import { classIndexReference, type ImageDriftReference, type PsiReference } from '@sepal/ml';
import { EventBus } from '@sepal/messaging';
import { InferenceConfig, InferenceConfigValues } from '../inference.config';
import { InferenceMetrics } from '../metrics/inference-metrics.service';
import { DriftMonitor } from './drift-monitor';
import { imageDriftFeatures } from './image-drift-features';

/** Creates the drift monitor of each loaded model and wires it to the gauge and to drift.detected. */
@Injectable()
export class DriftMonitors {
  private readonly logger = new Logger('DriftMonitor');
  /** Last drift.detected per model@version, kept across reloads of one version. */
  private readonly cooldowns = new Map<string, number>();

  constructor(
    @Inject(InferenceConfig) private readonly config: InferenceConfigValues,
    private readonly metrics: InferenceMetrics,
    private readonly bus: EventBus,
  ) {}

  /**
   * The drift monitor of an image model: per image, the mean intensity of each channel and the predicted class, each
   * against the training reference (`image_reference`), reported like a table model's features
   * (sepal_feature_drift_psi, drift.detected). null (logged) when the artifact has no reference.
   */
  createForImages(
    model: { name: string; version: number; image: OnnxImageInput; labels: readonly string[] },
    reference: ImageDriftReference | null,
  ): DriftMonitor | null {
    if (reference && reference.classes.length !== model.labels.length) {
      this.logger.warn(
        `${model.name} v${model.version}: no drift monitoring ('${OnnxMetadataKeys.imageReference}' has ${reference.classes.length} class proportions for ${model.labels.length} classes)`,
      );
      return null;
    }
    return this.create(
      { name: model.name, version: model.version, featureNames: imageDriftFeatures(model.image.channels) },
      reference && [...reference.intensity, classIndexReference(reference.classes)],
      OnnxMetadataKeys.imageReference,
    );
  }

  /** A started monitor for a model version, or null (logged) when its artifact has no training reference. */
  create(
    model: { name: string; version: number; featureNames: readonly string[] },
    reference: PsiReference[] | null,
    key: string = OnnxMetadataKeys.featureReference,
  ): DriftMonitor | null {
    if (!reference) {
      this.logger.log(
        `${model.name} v${model.version}: no drift monitoring (the ONNX metadata has no '${key}')`,
      );
      return null;
    }
    const monitor = new DriftMonitor({
      model: model.name,
      version: model.version,
      featureNames: model.featureNames,
      reference,
      windowRows: this.config.DRIFT_WINDOW_ROWS,
      minRows: this.config.DRIFT_MIN_ROWS,
      threshold: this.config.DRIFT_PSI_THRESHOLD,
      cooldownMs: this.config.DRIFT_COOLDOWN_MS,
      evalIntervalMs: this.config.DRIFT_EVAL_INTERVAL_MS,
      cooldowns: this.cooldowns,
      publish: async (event) => {
        await this.bus.publish(EventNames.DriftDetected, event, {
          messageId: `drift-${event.modelName}-${event.version}-${Date.parse(event.detectedAt)}`,
        });
        this.logger.warn(
          `drift on ${event.modelName} v${event.version}: ${event.features
            .map((f) => `${f.name} PSI ${f.psi.toFixed(3)}`)
            .join(', ')} (threshold ${event.threshold}); drift.detected published`,
        );
      },
      onPublishError: (error) =>
        this.logger.error(`drift.detected could not be published (retried later): ${error.message}`),
      onStop: (stopped) => this.metrics.unwatchDrift(stopped),
    });
    this.metrics.watchDrift(monitor);
    return monitor.start();
  }
}
