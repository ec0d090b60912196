import { useState } from 'react';
import { api, call, enc } from '../api';
import { useLoad } from '../hooks';
import type { BatchJobView } from '../types';
import { TERMINAL } from '../types';
import { ErrorBox, Page, short, State, TableHead, when } from '../ui';

/** "45% (450000 / 1000000)" from the score step's progress; the whole count once done. */
function progress(job: BatchJobView): string {
  const score = job.steps.find((s) => s.step === 'score');
  const total = Number(job.steps.find((s) => s.step === 'resolve-input')?.summary.rowsTotal ?? 0);
  if (job.output) return `${job.output.rows} rows, ${job.output.errorRows} not matching`;
  const done = Number(score?.summary.rowsScored ?? 0);
  if (!total) return job.state === 'queued' ? 'waiting for a trainer' : '—';
  return `${Math.floor((100 * done) / total)}% (${done} / ${total})`;
}

function input(job: BatchJobView): string {
  const request = job.request as {
    input?: { type: string; dataset?: string; version?: string; split?: string; rows?: number };
  };
  const i = request.input;
  if (!i) return '—';
  return i.type === 'dataset' ? `${i.dataset} ${i.version} (${i.split})` : `upload, ${i.rows} rows`;
}

/** Fetches the output with the key's headers (a plain link would not carry them) and saves it as a file. */
async function download(job: BatchJobView): Promise<void> {
  const response = await call('registry', `/batch-jobs/${enc(job.id)}/output.csv`);
  if (!response.ok) throw new Error(`the output answered ${response.status}`);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = `${job.modelName ?? 'model'}-batch-${short(job.id)}.csv`;
  link.click();
  URL.revokeObjectURL(url);
}

/** Batch scoring jobs, newest first, polled while any runs: progress, outcome and the output to download. */
export function Batch() {
  const [problem, setProblem] = useState<Error>();
  const loaded = useLoad(
    () => api<{ jobs: BatchJobView[] }>('registry', '/batch-jobs?maxResults=50'),
    [],
    2000,
  );
  const cancel = async (job: BatchJobView) => {
    try {
      await api('registry', `/batch-jobs/${enc(job.id)}`, { method: 'DELETE' });
      loaded.reload();
    } catch (error) {
      setProblem(error as Error);
    }
  };
  const jobs = loaded.data?.jobs;
  return (
    <Page title="Batch scoring">
      <p className="muted">
        Start one with <code>sepal score MODEL --dataset NAME</code> or <code>--file rows.csv</code>{' '}
        (docs/prediction-log.md).
      </p>
      <ErrorBox error={loaded.error ?? problem} what="batch jobs" />
      {jobs && jobs.length === 0 && <p>No batch jobs yet.</p>}
      {jobs && jobs.length > 0 && (
        <table>
          <TableHead columns={['Job', 'Model', 'Input', 'State', 'Progress', 'Created', '']} />
          <tbody>
            {jobs.map((job) => (
              <tr key={job.id}>
                <td title={job.id}>{short(job.id)}</td>
                <td>
                  {job.modelName} v{job.modelVersion}
                </td>
                <td>{input(job)}</td>
                <td>
                  <State state={job.state} />
                  {job.error && <div className="muted">{job.error}</div>}
                </td>
                <td>{progress(job)}</td>
                <td>{when(job.createdAt)}</td>
                <td>
                  {job.state === 'succeeded' && job.output && (
                    <button
                      type="button"
                      className="secondary small"
                      onClick={() => void download(job).catch(setProblem)}
                    >
                      Download CSV
                    </button>
                  )}
                  {!TERMINAL.includes(job.state) && (
                    <button type="button" className="secondary small" onClick={() => void cancel(job)}>
                      Cancel
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}
