import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { DomainError } from '@sepal/contracts';

const statusByKind: Record<DomainError['kind'], number> = {
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  invalid: HttpStatus.BAD_REQUEST,
  unprocessable: HttpStatus.UNPROCESSABLE_ENTITY,
  unavailable: HttpStatus.SERVICE_UNAVAILABLE,
  too_many: HttpStatus.TOO_MANY_REQUESTS,
};

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  hint?: string;
  details?: unknown;
}

/** One JSON error shape for every failure; unexpected errors are logged and never leak internals. */
@Catch()
export class DomainExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const body = errorBodyOf(exception, this.logger);
    // An error is JSON even from a route that had already set another type (e.g. text/csv for an export).
    void reply.status(body.statusCode).type('application/json; charset=utf-8').send(body);
  }
}

/** The error answer for `exception`: its status and message for a known error; a logged 500 for any other. */
export function errorBodyOf(exception: unknown, logger = new Logger('HTTP')): ErrorBody {
  if (exception instanceof DomainError) {
    const statusCode = statusByKind[exception.kind];
    return {
      statusCode,
      error: HttpStatus[statusCode] ?? 'Error',
      message: exception.message,
      hint: exception.hint,
      details: exception.details,
    };
  }
  if (exception instanceof HttpException) {
    const statusCode = exception.getStatus();
    const response = exception.getResponse();
    const message =
      typeof response === 'string'
        ? response
        : String((response as { message?: unknown }).message ?? exception.message);
    return { statusCode, error: HttpStatus[statusCode] ?? 'Error', message };
  }
  const fastifyStatus = (exception as { statusCode?: number } | null)?.statusCode;
  if (typeof fastifyStatus === 'number' && fastifyStatus >= 400 && fastifyStatus < 500) {
    return {
      statusCode: fastifyStatus,
      error: HttpStatus[fastifyStatus] ?? 'Error',
      message: String((exception as Error).message),
    };
  }
  logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
  return {
    statusCode: 500,
    error: 'INTERNAL_SERVER_ERROR',
    message: 'An unexpected error occurred; it has been logged.',
  };
}
