import { Command } from 'commander';
import { launchSystem } from '../up/launcher';

const localUrl = (url: string) =>
  url.replace('[::1]', 'localhost').replace('0.0.0.0', 'localhost').replace('127.0.0.1', 'localhost');

export function upCommand(): Command {
  return new Command('up')
    .description(
      'Start every Sepal service in this process. Without DATABASE_URL / AMQP_URL it runs embedded (PGlite under ' +
        'SEPAL_HOME, default .sepal/, and an in-process bus); with them it uses PostgreSQL and RabbitMQ.',
    )
    .action(async () => {
      const env: NodeJS.ProcessEnv = { LOG_FORMAT: 'pretty', ...process.env };
      const log = (line: string) => process.stdout.write(`${line}\n`);
      const mode =
        env.DATABASE_URL || env.AMQP_URL
          ? 'distributed services'
          : `embedded mode (state in ${env.SEPAL_HOME ?? '.sepal'}/)`;
      log(`Starting Sepal in ${mode}...`);
      const system = await launchSystem({ env, log });
      log('\nSepal is up:');
      for (const { name, url } of system.apps) {
        log(
          `  ${name.padEnd(10)} ${localUrl(url)}   API docs ${localUrl(url)}/docs   metrics ${localUrl(url)}/metrics`,
        );
      }
      log('\nPress Ctrl+C to stop.');
      const stop = async () => {
        await system.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });
}
