import {
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  Post,
  Res,
  UseFilters,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import {
  InvalidInputError,
  OipInferResponse,
  oipInferRequestSchema,
  OipModelMetadata,
  UnavailableError,
} from '@sepal/contracts';
import { Actor, openApiSchema, Public, RequireScope } from '@sepal/http';
import { Inject } from '@nestjs/common';
import { InferenceConfig, InferenceConfigValues } from '../inference.config';
import { LoadedModel } from '../model/loading/loaded-model';
import { ModelManager, parseVersion, RepositoryEntry } from '../model/model-manager.service';
import { PredictService } from '../predict/predict.service';
import { PredictRateLimitGuard } from '../predict/predict-rate-limit.guard';
import { inferResponse, modelMetadata, parseInferRequest } from './oip-mapping';
import { OipExceptionFilter } from './oip-exception.filter';
import { PredictionIdHeaderInterceptor } from '../prediction-log/prediction-id.interceptor';

/** Open Inference Protocol (KServe v2) REST endpoints, so standard clients work. */
@ApiTags('open inference protocol (v2)')
@Controller('v2')
@UseFilters(OipExceptionFilter)
@UseInterceptors(PredictionIdHeaderInterceptor)
export class OipController {
  constructor(
    @Inject(InferenceConfig) private readonly config: InferenceConfigValues,
    private readonly models: ModelManager,
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
    const ready = this.models.defaultModel.champion.model !== null;
    void reply.status(ready ? 200 : 503);
    return { ready };
  }

  @Get('models/:name')
  @RequireScope('read')
  @ApiOperation({ summary: 'Model metadata: versions, input and output tensors.' })
  metadata(@Param('name') name: string): OipModelMetadata {
    const model = this.served(name);
    const metadata = modelMetadata(model.info, model.signature);
    const others = [...this.models.find(name).others.keys()].map(String);
    return { ...metadata, versions: [...metadata.versions, ...others] };
  }

  @Get('models/:name/versions/:version')
  @RequireScope('read')
  @ApiOperation({
    summary: 'Metadata of one version of a model (loaded on demand; 404 if it is not registered).',
  })
  async versionMetadata(
    @Param('name') name: string,
    @Param('version') version: string,
  ): Promise<OipModelMetadata> {
    return this.predictions.withVersion(name, parseVersion(version), async (model) =>
      modelMetadata(model.info, model.signature),
    );
  }

  @Post('repository/index')
  @RequireScope('read')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'The model repository index: every model this gateway serves and its state (READY, or UNAVAILABLE with the reason); {"ready": true} lists only the ready ones.',
  })
  repositoryIndex(@Body() body: unknown): RepositoryEntry[] {
    let readyOnly = false;
    if (body !== undefined && body !== null) {
      if (typeof body !== 'object' || Array.isArray(body)) {
        throw new InvalidInputError('body: expected a JSON object such as {"ready": true}');
      }
      const { ready, ...rest } = body as Record<string, unknown>;
      const unknown = Object.keys(rest);
      if (unknown.length) throw new InvalidInputError(`${unknown[0]}: unknown field (expected only 'ready')`);
      if (ready !== undefined && typeof ready !== 'boolean') {
        throw new InvalidInputError('ready: must be true or false');
      }
      readyOnly = ready === true;
    }
    const index = this.models.repositoryIndex();
    return readyOnly ? index.filter((entry) => entry.state === 'READY') : index;
  }

  @Get('models/:name/ready')
  @RequireScope('read')
  @ApiOperation({ summary: 'Model readiness (503 until it is loaded).' })
  modelReady(@Param('name') name: string, @Res({ passthrough: true }) reply: FastifyReply) {
    const ready = this.models.find(name).champion.model !== null;
    void reply.status(ready ? 200 : 503);
    return { name, ready };
  }

  @Post('models/:name/infer')
  @UseGuards(PredictRateLimitGuard)
  @RequireScope('predict')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Inference with v2 tensors: input "features" FP32 [N, F] (an image model: UINT8 or FP32 [N, H, W, C] pixel values 0..255); outputs probabilities, label, class_name.',
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
  infer(
    @Param('name') name: string,
    @Body() body: unknown,
    @Actor() keyName: string,
  ): Promise<OipInferResponse> {
    return this.predictions.withModel((model) => this.run(model, body, keyName), name);
  }

  @Post('models/:name/versions/:version/infer')
  @UseGuards(PredictRateLimitGuard)
  @RequireScope('predict')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Inference on one registered version of the model (loaded on demand, verified and warmed; unloaded least recently used first beyond MAX_LOADED_MODELS).',
  })
  @ApiBody({ schema: openApiSchema(oipInferRequestSchema) })
  inferVersion(
    @Param('name') name: string,
    @Param('version') version: string,
    @Body() body: unknown,
    @Actor() keyName: string,
  ): Promise<OipInferResponse> {
    return this.predictions.withVersion(name, parseVersion(version), (model) =>
      this.run(model, body, keyName),
    );
  }

  private async run(model: LoadedModel, body: unknown, keyName: string): Promise<OipInferResponse> {
    const request = parseInferRequest(
      body,
      model.signature,
      this.config.MAX_BATCH_ROWS,
      this.config.IMAGE_MAX_PER_REQUEST,
    );
    const output = await this.predictions.score(model, request, keyName);
    return inferResponse(model.info, model.signature, request, output, output.predictionIds);
  }

  private served(name: string): LoadedModel {
    const entry = this.models.find(name);
    const model = entry.champion.model;
    if (!model)
      throw new UnavailableError(`model '${name}' is not loaded: ${entry.problem}`, 'Retry shortly.');
    return model;
  }
}
