import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { DriftQuery, driftQuerySchema, ModelDriftView, NotFoundError } from '@sepal/contracts';
import { RequireScope, ZodValidationPipe } from '@sepal/http';
import { ModelCatalog } from '../model/catalog/model-catalog.service';

/** Drift you can look at: the reference and live distributions of each feature, and their PSI. */
@ApiTags('drift')
@Controller('models')
export class DriftController {
  constructor(private readonly catalog: ModelCatalog) {}

  @Get(':name/drift')
  @RequireScope('read')
  @ApiOperation({
    summary:
      "Each loaded version of the model (or ?version=): every feature's training-split bins with the reference's and " +
      "the live window's share in each, and its PSI (null until the window holds DRIFT_MIN_ROWS rows).",
  })
  drift(
    @Param('name') name: string,
    @Query(new ZodValidationPipe(driftQuerySchema, 'query')) query: DriftQuery,
  ): ModelDriftView {
    const entry = this.catalog.find(name);
    const loaded = [entry.champion.model, ...entry.others.values()].filter(
      (m, i, all): m is NonNullable<typeof m> => m !== null && all.indexOf(m) === i,
    );
    const versions = loaded
      .filter((m) => query.version === undefined || m.info.version === query.version)
      .filter((m) => m.drift !== null)
      .sort((a, b) => a.info.version - b.info.version)
      .map((m) => ({ version: m.info.version, ...m.drift!.view() }));
    if (query.version !== undefined && versions.length === 0) {
      const there = loaded.some((m) => m.info.version === query.version);
      throw new NotFoundError(
        there
          ? `${name} v${query.version} has no drift monitoring: its artifact has no training reference (feature_reference)`
          : `${name} v${query.version} is not loaded on this gateway`,
        there
          ? 'Retrain it: the trainer writes the reference into the ONNX metadata.'
          : `Loaded: ${loaded.map((m) => `v${m.info.version}`).join(', ') || 'none'}.`,
      );
    }
    return { model: name, versions };
  }
}
