import { INestApplication } from '@nestjs/common';
import { ConfigError } from '@sepal/config';

/** Entry point of a service process: a bad configuration exits 2 with its message, a crash at start exits 1. */
export async function runService(name: string, start: () => Promise<INestApplication>): Promise<void> {
  try {
    const app = await start();
    const url = await app.getUrl().catch(() => undefined);
    process.stdout.write(
      `${JSON.stringify({ time: new Date().toISOString(), level: 'info', service: name, msg: `listening on ${url ?? '(no port)'}` })}\n`,
    );
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(
      `sepal ${name} failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  }
}
