import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SetTrafficRequest, setTrafficRequestSchema } from '@sepal/contracts';
import { Actor, openApiSchema, RequireScope, ZodValidationPipe } from '@sepal/http';
import { TrafficService } from './traffic.service';

@ApiTags('models')
@Controller('models')
export class TrafficController {
  constructor(private readonly traffic: TrafficService) {}

  @Put(':name/traffic')
  @RequireScope('promote')
  @ApiOperation({
    summary:
      "Split a model's requests between versions by weights (canary) and name a shadow version; audited.",
    description:
      'Weights are integers summing to 100, by version (400 otherwise, or for a version the model does not have). ' +
      'The change is announced by model.traffic through the outbox; every gateway applies it. ' +
      '`{"weights": {"<champion>": 100}}` ends a canary.',
  })
  @ApiBody({
    schema: openApiSchema(setTrafficRequestSchema),
    examples: {
      canary: { value: { weights: { '3': 90, '4': 10 }, reason: 'try v4 on 10%' } },
      shadow: { value: { weights: { '3': 100 }, shadow: 5, reason: 'compare v5 off the response path' } },
    },
  })
  set(
    @Param('name') name: string,
    @Body(new ZodValidationPipe(setTrafficRequestSchema, 'traffic split')) body: SetTrafficRequest,
    @Actor() actor: string,
  ) {
    return this.traffic.set(name, body, actor);
  }

  @Get(':name/traffic')
  @RequireScope('read')
  @ApiOperation({ summary: 'The split in force (404 when there is none: all requests go to the champion).' })
  get(@Param('name') name: string) {
    return this.traffic.get(name);
  }

  @Get(':name/traffic/audit')
  @RequireScope('read')
  @ApiOperation({ summary: 'Every change of the split, oldest first, with who and why.' })
  audit(@Param('name') name: string) {
    return this.traffic.audit(name);
  }
}
