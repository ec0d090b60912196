import { Command, InvalidArgumentError, Option } from 'commander';
import { jobState, type JobListView, type JobView } from '@sepal/contracts';
import { ServiceClient } from '@sepal/http-client';
import { serviceClient } from '../client/service-client';
import { jobPath, resolveJob, withCliHints } from '../jobs/job-client';
import { describeJob, JOB_LIST_HEADERS, jobRows } from '../jobs/job-format';
import { Printer } from '../output/printer';
import { CliContext } from './cli-context';

function pageSize(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    throw new InvalidArgumentError('give a whole number from 1 to 1000.');
  }
  return n;
}

/** What a cancel or retry left the job in, and how to watch it. */
function describeAction(job: JobView, action: 'cancel' | 'retry'): string {
  const follow = `Follow it: sepal jobs show ${job.id}`;
  if (action === 'retry') return `job ${job.id}: ${job.state} as attempt ${job.attempt}\n${follow}`;
  return job.state === 'cancelling'
    ? `job ${job.id}: cancelling until its trainer stops it\n${follow}`
    : `job ${job.id}: ${job.state}`;
}

export function jobsCommand(context: CliContext): Command {
  const jobs = new Command('jobs').description(
    'Training jobs and their steps (the registry): list, inspect, cancel, retry.',
  );
  const client = () => serviceClient(context, 'registry');
  const printer = (cmd: Command) => new Printer(Boolean(cmd.optsWithGlobals().json));

  jobs
    .command('ls')
    .description('List training jobs, newest first: state, the step each is at, how long it took.')
    .addOption(new Option('-s, --state <state>', 'only jobs in this state').choices(jobState.options))
    .option('-d, --dataset <name>', 'only jobs of this dataset')
    .option('-n, --limit <n>', 'page size (1 to 1000)', pageSize, 50)
    .option('--page-token <token>', 'the next page of an earlier listing')
    .action(
      async (
        options: { state?: string; dataset?: string; limit: number; pageToken?: string },
        cmd: Command,
      ) => {
        const query = new URLSearchParams({ maxResults: String(options.limit) });
        if (options.state) query.set('state', options.state);
        if (options.dataset) query.set('dataset', options.dataset);
        if (options.pageToken) query.set('pageToken', options.pageToken);
        const page = await withCliHints(client().get<JobListView>(`/jobs?${query}`));
        const out = printer(cmd);
        out.table(page.jobs, JOB_LIST_HEADERS, jobRows(page.jobs, Date.now()));
        if (page.nextPageToken) out.note(`more: --page-token ${page.nextPageToken}`);
      },
    );

  jobs
    .command('show')
    .description(
      'Show one job: its request, state, attempt, and each step (state, attempt, times, worker, summary, error).',
    )
    .argument('<id>', 'a job id, or its start as `sepal jobs ls` shows it')
    .action(async (id: string, _options: unknown, cmd: Command) => {
      const job = await withCliHints(resolveJob(client(), id));
      printer(cmd).result(job, () => describeJob(job, Date.now()));
    });

  /** `cancel` and `retry`: resolve the job the user names, ask the registry, print the state it is in now. */
  const action = (
    name: 'cancel' | 'retry',
    description: string,
    send: (registry: ServiceClient, path: string) => Promise<JobView>,
  ) =>
    jobs
      .command(name)
      .description(description)
      .argument('<id>', 'a job id, or its start as `sepal jobs ls` shows it')
      .action(async (id: string, _options: unknown, cmd: Command) => {
        const registry = client();
        const { id: jobId } = await withCliHints(resolveJob(registry, id));
        // Who asks is the key the CLI sends (SEPAL_API_KEY): the registry records its name.
        const job = await withCliHints(
          send(registry, `${jobPath(jobId)}${name === 'retry' ? '/retry' : ''}`),
        );
        printer(cmd).result(job, () => describeAction(job, name));
      });

  action(
    'cancel',
    'Cancel a job: one no trainer started ends at once; a running one is cancelling until its trainer stops it. ' +
      'Exits 1 if the job has already ended.',
    (registry, path) => registry.delete<JobView>(path),
  );
  action(
    'retry',
    'Run a failed or cancelled job again as its next attempt (its steps that did not succeed are pending again). ' +
      'Exits 1 if the job is neither failed nor cancelled.',
    (registry, path) => registry.post<JobView>(path),
  );

  return jobs;
}
