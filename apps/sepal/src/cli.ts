import { Command, CommanderError } from 'commander';
import { ServiceCallError } from '@sepal/http-client';
import { describeServiceError } from './client/service-client';
import { cliContextFromEnv } from './commands/cli-context';
import { dataCommand } from './commands/data.command';
import { jobsCommand } from './commands/jobs.command';
import { keysCommand } from './commands/keys.command';
import { modelsCommand } from './commands/models.command';
import { predictCommand } from './commands/predict.command';
import { predictionsCommand } from './commands/predictions.command';
import { runsCommand } from './commands/runs.command';
import { scoreCommand } from './commands/score.command';
import { trainCommand } from './commands/train.command';
import { upCommand } from './commands/up.command';

/** Exit codes scripts can rely on. */
export const ExitCode = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

export function buildCli(env: NodeJS.ProcessEnv = process.env): Command {
  const context = cliContextFromEnv(env);
  return new Command('sepal')
    .description('Sepal: from a CSV file to a monitored ONNX endpoint. Every command has --help.')
    .option('--json', 'print machine-readable JSON instead of tables')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addCommand(upCommand())
    .addCommand(dataCommand(context))
    .addCommand(trainCommand(context))
    .addCommand(jobsCommand(context))
    .addCommand(runsCommand(context))
    .addCommand(modelsCommand(context))
    .addCommand(predictCommand(context))
    .addCommand(predictionsCommand(context))
    .addCommand(scoreCommand(context))
    .addCommand(keysCommand(context, env));
}

export async function runCli(argv: string[]): Promise<number> {
  const program = buildCli();
  // Commander exits the process on a usage error unless every (sub)command overrides it.
  const overrideExit = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(overrideExit);
  };
  overrideExit(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.exitCode === 0
        ? ExitCode.ok
        : ExitCode.usage;
    }
    if (error instanceof ServiceCallError) {
      process.stderr.write(describeServiceError(error));
      return error.status === null ? ExitCode.unreachable : ExitCode.failed;
    }
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.failed;
  }
}
