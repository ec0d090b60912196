import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { map, Observable } from 'rxjs';
import { PREDICTION_ID_HEADER } from '@sepal/contracts';

/**
 * The first row's prediction id of an answer (POST /predict: `predictions[0].predictionId`; v2 infer:
 * `parameters.prediction_ids[0]`), or undefined. The header carries one id, whatever the batch size, so it stays
 * small; every row's id is in the body.
 */
export function firstPredictionId(answer: unknown): string | undefined {
  if (typeof answer !== 'object' || answer === null) return undefined;
  const rows = (answer as { predictions?: { predictionId?: unknown }[] }).predictions;
  const fromRows = Array.isArray(rows) ? rows[0]?.predictionId : undefined;
  if (typeof fromRows === 'string') return fromRows;
  const ids = (answer as { parameters?: { prediction_ids?: unknown } }).parameters?.prediction_ids;
  return Array.isArray(ids) && typeof ids[0] === 'string' ? ids[0] : undefined;
}

/** Sets X-Prediction-Id on a prediction answer of the Nest path (the lean path sets it itself). */
@Injectable()
export class PredictionIdHeaderInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    return next.handle().pipe(
      map((answer: unknown) => {
        const id = firstPredictionId(answer);
        if (id !== undefined) void reply.header(PREDICTION_ID_HEADER, id);
        return answer;
      }),
    );
  }
}
