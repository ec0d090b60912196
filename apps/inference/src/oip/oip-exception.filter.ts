import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { DomainError } from '@sepal/contracts';

const STATUS: Record<DomainError['kind'], number> = {
  not_found: 404,
  conflict: 409,
  invalid: 400,
  unprocessable: 422,
  unavailable: 503,
  too_many: 429,
};

/** Open Inference Protocol errors are `{"error": "..."}`, with the status the rest of the gateway would use. */
@Catch()
export class OipExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('OIP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    let status = 500;
    let message = 'An unexpected error occurred; it has been logged.';
    if (exception instanceof DomainError) {
      status = STATUS[exception.kind];
      message = exception.message;
    } else if (exception instanceof HttpException) {
      status = exception.getStatus();
      message = exception.message;
    } else {
      this.logger.error(
        exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
      );
    }
    void reply.status(status).send({ error: message });
  }
}
