import { Command } from 'commander';
import { launchSystem } from '../up/launcher';

export function upCommand(): Command {
  return new Command('up')
    .description(
      'Start every Sepal service in this process. Without DATABASE_URL / AMQP_URL it runs embedded (PGlite under ' +
        'SEPAL_HOME, default .sepal/, and an in-process bus); with them it uses PostgreSQL and RabbitMQ. On first ' +
        'start it imports Iris, trains with the default grid, promotes the best model and serves it.',
    )
    .option('--no-train', 'do not train a first model when there is no champion')
    .addHelpText(
      'after',
      '\nPorts: INFERENCE_PORT (3000), DATA_PORT (3001), REGISTRY_PORT (3002), TRAINER_PORT (3003), CONSOLE_PORT (8080).\n' +
        'Every other setting is an environment variable too; see docs/configuration.md.',
    )
    .action(async (options: { train: boolean }) => {
      const started = Date.now();
      const env: NodeJS.ProcessEnv = { LOG_FORMAT: 'pretty', ...process.env };
      const log = (line: string) => process.stdout.write(`${line}\n`);
      const embedded = !env.DATABASE_URL && !env.AMQP_URL;
      log(
        `Starting Sepal (${embedded ? `embedded: state in ${env.SEPAL_HOME ?? '.sepal'}/` : 'on PostgreSQL and RabbitMQ'})...`,
      );
      const system = await launchSystem({
        env,
        log,
        progressBars: Boolean(process.stdout.isTTY),
        trainIfNoChampion: options.train,
      });
      const url = (name: string) =>
        system.apps.find((a) => a.name === name)?.url.replace('127.0.0.1', 'localhost');
      log(`\nSepal is up in ${((Date.now() - started) / 1000).toFixed(1)} s, serving ${system.modelName}:`);
      log(
        `  console    ${url('console')}        (the web console: overview, datasets, runs, models, jobs, predict)`,
      );
      log(`  gateway    ${url('inference')}        (API docs ${url('inference')}/docs)`);
      log(`  data       ${url('data')}/docs`);
      log(`  registry   ${url('registry')}/docs`);
      log(`  trainer    ${url('trainer')}/docs`);
      log(
        `  metrics    ${url('inference')}/metrics (Prometheus format; one process, so every port shows all)`,
      );
      log(`\nTry it:\n  curl -s -X POST ${url('inference')}/predict -H 'content-type: application/json' \\`);
      log(
        `    -d '{"features":{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}}'`,
      );
      log('\nPress Ctrl+C to stop.');
      const stop = async () => {
        await system.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });
}
