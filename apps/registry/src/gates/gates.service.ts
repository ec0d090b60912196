import { Injectable, Logger } from '@nestjs/common';
import { ModelGateView, NotFoundError, SetModelGateRequest } from '@sepal/contracts';
import { TransactionRunner } from '@sepal/persistence';
import { ModelsRepository } from '../models/models.repository';
import { GateRecord, GatesRepository } from './gates.repository';

/**
 * The promotion gate of each registered model: which run metric decides, in which direction, its floor and margin.
 * Every change is recorded with who made it and why; a model that never set one gets the trainer's task defaults.
 */
@Injectable()
export class GatesService {
  private readonly logger = new Logger(GatesService.name);

  constructor(
    private readonly gates: GatesRepository,
    private readonly models: ModelsRepository,
    private readonly transactions: TransactionRunner,
  ) {}

  async get(model: string): Promise<ModelGateView> {
    await this.requireModel(model);
    return view(model, await this.gates.latest(model));
  }

  /** Sets the model's gate; the model's row lock orders concurrent changes. */
  async set(model: string, request: SetModelGateRequest, by: string): Promise<ModelGateView> {
    const { reason = '', ...gate } = request;
    const record = await this.transactions.run(async (tx) => {
      if (!(await this.models.lockModel(tx, model))) throw unknownModel(model);
      return this.gates.insert(tx, { model, gate, by, reason });
    });
    this.logger.log(
      `${model}: gate ${gate.metric} ${gate.direction}, floor ${gate.floor ?? 'none'}, margin ${gate.margin} by ${by}`,
    );
    return view(model, record);
  }

  /** Every change of the model's gate, oldest first. */
  async history(model: string): Promise<GateRecord[]> {
    await this.requireModel(model);
    return this.gates.history(model);
  }

  private async requireModel(model: string): Promise<void> {
    if (!(await this.models.findModel(model))) throw unknownModel(model);
  }
}

function unknownModel(model: string): NotFoundError {
  return new NotFoundError(`unknown model '${model}'`, 'GET /models lists the registered models.');
}

function view(model: string, record: GateRecord | null): ModelGateView {
  return {
    model,
    gate: record?.gate ?? null,
    updatedAt: record?.at ?? null,
    updatedBy: record?.by ?? null,
  };
}
