import { INestApplication } from '@nestjs/common';
import { ConfigError } from '@sepal/config';
import { GracefulShutdown, ShutdownSettings } from './graceful-shutdown';

export interface StartedService {
  app: INestApplication;
  /** The app's configuration: its shutdown delay and grace period. */
  config: ShutdownSettings;
}

const log = (service: string, level: string, msg: string) =>
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, service, msg })}\n`);

/**
 * Entry point of a service process: a bad configuration exits 2 with its message, a crash at start exits 1. SIGTERM
 * (and SIGINT) stop it gracefully (GracefulShutdown): not ready, drained, closed, then the process exits 0, or 1 if
 * the stop failed or outlasted SHUTDOWN_GRACE_MS.
 */
export async function runService(name: string, start: () => Promise<StartedService>): Promise<void> {
  let started: StartedService;
  try {
    started = await start();
    const url = await started.app.getUrl().catch(() => undefined);
    log(name, 'info', `listening on ${url ?? '(no port)'}`);
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
  const { app, config } = started;
  const shutdown = new GracefulShutdown(app, config);
  const stop = (signal: NodeJS.Signals) => {
    log(name, 'info', `${signal}: stopping (not ready; draining for up to ${config.SHUTDOWN_GRACE_MS} ms)`);
    setTimeout(() => {
      log(name, 'error', `still stopping after SHUTDOWN_GRACE_MS=${config.SHUTDOWN_GRACE_MS}: exiting`);
      process.exit(1);
    }, config.SHUTDOWN_GRACE_MS).unref();
    shutdown.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log(name, 'error', `stopping failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  // This process's signals are this function's: Nest's own hooks (enableShutdownHooks) would close the app at once,
  // without the drain.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.removeAllListeners(signal);
    process.once(signal, () => stop(signal));
  }
}
