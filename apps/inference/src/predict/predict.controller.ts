import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { PredictResponse, predictRequestSchema } from '@sepal/contracts';
import { PredictRateLimitGuard } from './predict-rate-limit.guard';
import { openApiSchema, RequireScope } from '@sepal/http';
import { PredictService } from './predict.service';

const IRIS_ROW = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };

@ApiTags('predict')
@Controller()
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
      '`features`, a batch in `instances` (at most MAX_BATCH_ROWS rows). 400 names the bad field; 503 while no model is loaded.',
  })
  @ApiBody({
    schema: openApiSchema(predictRequestSchema),
    examples: {
      named: { summary: 'one row, named features', value: { features: IRIS_ROW } },
      array: { summary: 'one row, model order', value: { features: [6.7, 3.0, 5.2, 2.3] } },
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
  @ApiResponse({ status: 413, description: 'The body is over MAX_BODY_BYTES.' })
  @ApiResponse({ status: 415, description: 'The body is not application/json.' })
  @ApiResponse({ status: 503, description: 'No model is loaded yet.' })
  predict(@Body() body: unknown): Promise<PredictResponse> {
    return this.predictions.predict(body);
  }
}
