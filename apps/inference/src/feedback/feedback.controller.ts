import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
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
import { openApiSchema, RequireScope, ZodValidationPipe } from '@sepal/http';
import { InferenceConfig, InferenceConfigValues } from '../inference.config';
import { ModelHolder } from '../model/model-holder';
import { writeRow } from '../predict/parse-input';

/** POST /feedback: a labelled sample forwarded to the data service as feedback.received. */
@ApiTags('feedback')
@Controller('feedback')
export class FeedbackController {
  constructor(
    @Inject(InferenceConfig) private readonly config: InferenceConfigValues,
    private readonly holder: ModelHolder,
    private readonly bus: EventBus,
  ) {}

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
  async receive(
    @Body(new ZodValidationPipe(feedbackRequestSchema, 'feedback')) body: FeedbackRequest,
  ): Promise<FeedbackAccepted> {
    const model = this.holder.model;
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
    const id = body.id ?? randomUUID();
    try {
      await this.bus.publish(
        EventNames.FeedbackReceived,
        {
          feedbackId: id,
          dataset: this.config.FEEDBACK_DATASET,
          features: body.features,
          label: body.label,
          source: body.source ?? 'inference',
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
    return { id, dataset: this.config.FEEDBACK_DATASET, label: String(body.label), status: 'forwarded' };
  }
}
