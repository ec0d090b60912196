import { Body, Controller, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import {
  EventNames,
  FeedbackAccepted,
  FeedbackRequest,
  feedbackRequestExamples,
  feedbackRequestSchema,
  InvalidInputError,
  UnavailableError,
} from '@sepal/contracts';
import { EventBus } from '@sepal/messaging';
import {
  Actor,
  feedbackRateLimit,
  openApiSchema,
  PerKeyLimit,
  RequireScope,
  ZodValidationPipe,
} from '@sepal/http';
import { InferenceConfig, InferenceConfigValues } from '../inference.config';
import { ModelManager } from '../model/model-manager.service';
import { ServedModel } from '../model/catalog/served-model';
import { writeRow } from '../predict/parse-input';

/**
 * POST /feedback (default model) and POST /feedback/{model}: a labelled sample forwarded to the data service as
 * feedback.received, to that model's dataset, with the name of the key that sent it (submittedBy). Each key may
 * forward FEEDBACK_RATE_PER_KEY samples per minute through this gateway (429 beyond); the data service holds every
 * key to the same rate over all gateways.
 */
@ApiTags('feedback')
@Controller('feedback')
export class FeedbackController {
  private readonly limit: PerKeyLimit;

  constructor(
    @Inject(InferenceConfig) private readonly config: InferenceConfigValues,
    private readonly models: ModelManager,
    private readonly bus: EventBus,
  ) {
    this.limit = feedbackRateLimit(config);
  }

  @Post()
  @RequireScope('feedback')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Features and the true class; forwarded to the data service (feedback.received). 202 with the id.',
  })
  @ApiBody({
    schema: openApiSchema(feedbackRequestSchema),
    examples: feedbackRequestExamples,
  })
  receive(
    @Body(new ZodValidationPipe(feedbackRequestSchema, 'feedback')) body: FeedbackRequest,
    @Actor() actor: string,
  ): Promise<FeedbackAccepted> {
    return this.forward(this.models.defaultModel, body, actor);
  }

  @Post(':model')
  @RequireScope('feedback')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Features and the true class for the named model; forwarded to the dataset its served version was trained on. 404 for an unknown model.',
  })
  @ApiBody({ schema: openApiSchema(feedbackRequestSchema), examples: feedbackRequestExamples })
  receiveFor(
    @Param('model') modelName: string,
    @Body(new ZodValidationPipe(feedbackRequestSchema, 'feedback')) body: FeedbackRequest,
    @Actor() actor: string,
  ): Promise<FeedbackAccepted> {
    return this.forward(this.models.find(modelName), body, actor);
  }

  private async forward(entry: ServedModel, body: FeedbackRequest, actor: string): Promise<FeedbackAccepted> {
    const model = entry.champion.model;
    const dataset = entry === this.models.defaultModel ? this.config.FEEDBACK_DATASET : entry.dataset;
    if (dataset === null) {
      throw new UnavailableError(
        `the dataset of model '${entry.name}' is not known yet: ${model ? 'the registry has no lineage for its served version' : entry.problem}`,
        'Feedback is accepted once the model is served and its version traces back to a dataset.',
      );
    }
    if (model) {
      // Checked against the served model when there is one; the data service validates against the dataset.
      writeRow(
        body.features,
        'features',
        model.signature,
        new Float32Array(model.signature.numericCount),
        0,
        new Array<string>(model.signature.categoricalCount),
      );
      if (model.signature.task === 'regression') {
        if (typeof body.label !== 'number') {
          throw new InvalidInputError(
            `label: a regressor's feedback label is the true value, a number (got '${body.label}')`,
          );
        }
      } else if (!model.signature.labels.includes(String(body.label))) {
        throw new InvalidInputError(
          `label: unknown class '${body.label}'`,
          `The model knows ${model.signature.labels.join(', ')}.`,
        );
      }
    }
    // Only a sample that would be forwarded counts (a refused one costs the key nothing).
    this.limit.take(actor);
    const id = body.id ?? randomUUID();
    try {
      await this.bus.publish(
        EventNames.FeedbackReceived,
        {
          feedbackId: id,
          submittedBy: actor,
          dataset,
          features: body.features,
          label: body.label,
          source: body.source ?? 'inference',
          ...(body.predictionId ? { predictionId: body.predictionId } : {}),
          ...(model ? { modelName: model.info.name, modelVersion: model.info.version } : {}),
        },
        { messageId: `feedback-${id}` },
      );
    } catch (error) {
      throw new UnavailableError(
        `the feedback could not be forwarded: ${(error as Error).message}`,
        'The message broker is unreachable; send it again later (the same id is stored once).',
      );
    }
    return { id, dataset, label: String(body.label), status: 'forwarded' };
  }
}
