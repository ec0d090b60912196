import { Body, Controller, Get, HttpCode, Param, Post, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { NotFoundError, OipInferResponse, oipInferRequestSchema, OipModelMetadata } from '@sepal/contracts';
import { openApiSchema, Public, RequireScope } from '@sepal/http';
import { Inject } from '@nestjs/common';
import { InferenceConfig, InferenceConfigValues } from '../inference.config';
import { ModelHolder } from '../model/model-holder';
import { LoadedModel } from '../model/loaded-model';
import { PredictService } from '../predict/predict.service';
import { PredictRateLimitGuard } from '../predict/predict-rate-limit.guard';
import { inferResponse, modelMetadata, parseInferRequest } from './oip-mapping';
import { OipExceptionFilter } from './oip-exception.filter';

/** Open Inference Protocol (KServe v2) REST endpoints, so standard clients work. */
@ApiTags('open inference protocol (v2)')
@Controller('v2')
@UseFilters(OipExceptionFilter)
export class OipController {
  constructor(
    @Inject(InferenceConfig) private readonly config: InferenceConfigValues,
    private readonly holder: ModelHolder,
    private readonly predictions: PredictService,
  ) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'Server metadata.' })
  server() {
    return { name: 'sepal-inference', version: '0.1.0', extensions: [] };
  }

  @Get('health/live')
  @Public()
  @ApiOperation({ summary: 'Server liveness.' })
  live() {
    return { live: true };
  }

  @Get('health/ready')
  @Public()
  @ApiOperation({ summary: 'Server readiness: a model is loaded (503 otherwise).' })
  ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const ready = this.holder.model !== null;
    void reply.status(ready ? 200 : 503);
    return { ready };
  }

  @Get('models/:name')
  @RequireScope('read')
  @ApiOperation({ summary: 'Model metadata: versions, input and output tensors.' })
  metadata(@Param('name') name: string): OipModelMetadata {
    const model = this.served(name);
    return modelMetadata(model.info, model.signature);
  }

  @Get('models/:name/ready')
  @RequireScope('read')
  @ApiOperation({ summary: 'Model readiness (503 until it is loaded).' })
  modelReady(@Param('name') name: string, @Res({ passthrough: true }) reply: FastifyReply) {
    this.checkName(name);
    const ready = this.holder.model !== null;
    void reply.status(ready ? 200 : 503);
    return { name, ready };
  }

  @Post('models/:name/infer')
  @UseGuards(PredictRateLimitGuard)
  @RequireScope('predict')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Inference with v2 tensors: input "features" FP32 [N, F]; outputs probabilities, label, class_name.',
  })
  @ApiBody({
    schema: openApiSchema(oipInferRequestSchema),
    examples: {
      two_rows: {
        value: {
          id: 'request-1',
          inputs: [
            {
              name: 'features',
              shape: [2, 4],
              datatype: 'FP32',
              data: [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3],
            },
          ],
        },
      },
      probabilities_only: {
        value: {
          inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [[5.9, 3.0, 4.2, 1.5]] }],
          outputs: [{ name: 'probabilities' }],
        },
      },
    },
  })
  infer(@Param('name') name: string, @Body() body: unknown): Promise<OipInferResponse> {
    this.checkName(name);
    return this.predictions.withModel(async (model) => {
      const request = parseInferRequest(body, model.signature, this.config.MAX_BATCH_ROWS);
      const output = await this.predictions.score(model, request);
      return inferResponse(model.info, model.signature, request, output);
    });
  }

  private checkName(name: string): void {
    if (name !== this.config.MODEL_NAME) {
      throw new NotFoundError(`unknown model '${name}'; this gateway serves '${this.config.MODEL_NAME}'`);
    }
  }

  private served(name: string): LoadedModel {
    this.checkName(name);
    const model = this.holder.model;
    if (!model) throw new NotFoundError(`model '${name}' is not loaded yet`);
    return model;
  }
}
