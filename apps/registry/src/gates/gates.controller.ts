import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SetModelGateRequest, setModelGateRequestSchema } from '@sepal/contracts';
import { Actor, openApiSchema, RequireScope, ZodValidationPipe } from '@sepal/http';
import { GatesService } from './gates.service';

@ApiTags('models')
@Controller('models/:name/gate')
export class GatesController {
  constructor(private readonly gates: GatesService) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({
    summary: "The model's promotion gate ({gate: null}: the trainer's defaults for its task).",
  })
  get(@Param('name') name: string) {
    return this.gates.get(name);
  }

  @Put()
  @RequireScope('promote')
  @ApiOperation({
    summary:
      'Set the metric, direction, floor and margin that decide promotions of this model (audited with the key).',
    description:
      'direction up: higher is better and floor is a minimum; down: lower is better and floor is a maximum. margin 0: ' +
      'strictly better than the champion; negative: tolerate that much worse.',
  })
  @ApiBody({
    schema: openApiSchema(setModelGateRequestSchema),
    examples: {
      wine: {
        value: { metric: 'test_accuracy', direction: 'up', floor: 0.5, margin: 0, reason: 'wine is hard' },
      },
      regression: { value: { metric: 'test_rmse', direction: 'down', floor: 0.8, margin: 0.01 } },
    },
  })
  set(
    @Param('name') name: string,
    @Body(new ZodValidationPipe(setModelGateRequestSchema, 'gate')) body: SetModelGateRequest,
    @Actor() actor: string,
  ) {
    return this.gates.set(name, body, actor);
  }

  @Get('history')
  @RequireScope('read')
  @ApiOperation({ summary: "Every change of the model's gate, oldest first, with who and why." })
  history(@Param('name') name: string) {
    return this.gates.history(name);
  }
}
