import { Body, Controller, HttpCode, Param, Post, Req, UseGuards, UseInterceptors } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { imageSourcesFromMultipart } from './images/image-multipart';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { PredictResponse, predictRequestSchema } from '@sepal/contracts';
import { PredictRateLimitGuard } from './predict-rate-limit.guard';
import { Actor, openApiSchema, RequireScope } from '@sepal/http';
import { PredictService } from './predict.service';
import { PredictionIdHeaderInterceptor } from '../prediction-log/prediction-id.interceptor';

const IRIS_ROW = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };

@ApiTags('predict')
@Controller()
@UseInterceptors(PredictionIdHeaderInterceptor)
export class PredictController {
  constructor(private readonly predictions: PredictService) {}

  @Post('predict')
  @UseGuards(PredictRateLimitGuard)
  @RequireScope('predict')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Class, class index and probabilities per row, with the model name, version and SHA-256 used.',
    description:
      'Features as named values (names from the model metadata) or as an array in model order; one row in ' +
      '`features`, a batch in `instances` (at most MAX_BATCH_ROWS rows). 400 names the bad field; 503 while no model is loaded. ' +
      'Compatibility form: a flat object of named features (`{"sepal_length": 5.1, ...}`) is also answered with ' +
      '`class_name` (or `value` for a regression) at the top level, as the classic Iris services answer. ' +
      'An image model takes PNG or JPEG images instead: `{"image": "<base64>"}` (answered with `class_name` too), ' +
      '`{"images": ["<base64>", ...]}`, or the files as multipart/form-data; an image of another size than the ' +
      "model's is refused (422), never resized (see docs/images.md).",
  })
  @ApiBody({
    schema: openApiSchema(predictRequestSchema),
    examples: {
      named: { summary: 'one row, named features', value: { features: IRIS_ROW } },
      array: { summary: 'one row, model order', value: { features: [6.7, 3.0, 5.2, 2.3] } },
      compatibility: { summary: 'compatibility form (answers class_name too)', value: IRIS_ROW },
      batch: {
        summary: 'a batch, mixed forms',
        value: { instances: [IRIS_ROW, [5.9, 3.0, 4.2, 1.5], [6.7, 3.0, 5.2, 2.3]] },
      },
    },
  })
  @ApiResponse({ status: 200, description: 'One prediction per row.' })
  @ApiResponse({
    status: 400,
    description: 'The body does not fit the model, e.g. "instances[2].petal_width: must be a finite number".',
  })
  @ApiResponse({
    status: 413,
    description:
      'The body is over MAX_BODY_BYTES, or an image over IMAGE_MAX_BYTES, IMAGE_MAX_PIXELS or IMAGE_MAX_PER_REQUEST.',
  })
  @ApiResponse({
    status: 415,
    description:
      'The body is not application/json (or multipart for an image model), or an image is not PNG/JPEG.',
  })
  @ApiResponse({
    status: 422,
    description: "An image cannot be decoded or is not the model's size (the answer names both shapes).",
  })
  @ApiResponse({ status: 503, description: 'No model is loaded yet.' })
  predict(
    @Body() body: unknown,
    @Actor() keyName: string,
    @Req() request: FastifyRequest,
  ): Promise<PredictResponse> {
    return this.answer(request, body, undefined, keyName);
  }

  @Post('predict/:model')
  @UseGuards(PredictRateLimitGuard)
  @RequireScope('predict')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'The same as POST /predict, on the named model (its champion, or a version of its traffic split).',
    description:
      '404 names an unknown model; 503 gives the reason while the model has no version loaded (e.g. its load failed).',
  })
  @ApiBody({ schema: openApiSchema(predictRequestSchema) })
  @ApiResponse({
    status: 200,
    description: 'One prediction per row; `model.version` says which version served it.',
  })
  @ApiResponse({ status: 404, description: 'No model of that name is served.' })
  predictModel(
    @Param('model') model: string,
    @Body() body: unknown,
    @Actor() keyName: string,
    @Req() request: FastifyRequest,
  ): Promise<PredictResponse> {
    return this.answer(request, body, model, keyName);
  }

  /** Uploaded images (multipart) or rows (JSON) for `model`, or the default model when undefined. */
  private answer(
    request: FastifyRequest,
    body: unknown,
    model: string | undefined,
    keyName: string,
  ): Promise<PredictResponse> {
    if (request.isMultipart()) {
      return this.predictions.predictUploads(
        (limits) => imageSourcesFromMultipart(request, limits),
        model,
        keyName,
      );
    }
    return this.predictions.predict(body, model, keyName);
  }
}
