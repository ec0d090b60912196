import { FormEvent, useEffect, useState } from 'react';
import { api, ApiError, authHeaders, getKey } from '../api';
import { useKey } from '../auth';
import { useLoad } from '../hooks';
import { Link } from '../router';
import type { DatasetSummary, JobView } from '../types';
import { TERMINAL } from '../types';
import {
  ErrorBox,
  Outcome,
  type OutcomeMessage,
  Page,
  short,
  State,
  TableHead,
  TextField,
  when,
} from '../ui';

/** The console's server-sent events of the job list, read with fetch so the API key header goes along. */
function useJobStream(): { jobs: JobView[] | undefined; problem: string | null; live: boolean } {
  const [jobs, setJobs] = useState<JobView[]>();
  const [problem, setProblem] = useState<string | null>(null);
  const [live, setLive] = useState(false);
  const key = getKey();
  useEffect(() => {
    const controller = new AbortController();
    let retry: ReturnType<typeof setTimeout> | undefined;
    const connect = async () => {
      try {
        const response = await fetch('/api/console/jobs/events?maxResults=50', {
          headers: { accept: 'text/event-stream', ...authHeaders() },
          signal: controller.signal,
        });
        if (!response.ok || !response.body) throw new Error(`the job stream answered ${response.status}`);
        setLive(true);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = block
              .split('\n')
              .filter((l) => l.startsWith('data: '))
              .map((l) => l.slice(6))
              .join('\n');
            if (event === 'jobs') {
              setJobs((JSON.parse(data) as { jobs: JobView[] }).jobs);
              setProblem(null);
            } else if (event === 'problem') {
              const p = JSON.parse(data) as { status: number; message: string };
              setProblem(`${p.status}: ${p.message}`);
              if (p.status === 401) void api('registry', '/jobs?maxResults=1').catch(() => undefined);
            }
          }
        }
      } catch (error) {
        if (controller.signal.aborted) return;
        setProblem((error as Error).message);
      }
      setLive(false);
      if (!controller.signal.aborted) retry = setTimeout(() => void connect(), 2000);
    };
    void connect();
    return () => {
      controller.abort();
      clearTimeout(retry);
    };
  }, [key]);
  return { jobs, problem, live };
}

const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => (Number.isFinite(Number(s)) ? Number(s) : s));

function StartTraining() {
  const { can, why } = useKey();
  const datasets = useLoad(() => api<DatasetSummary[]>('data', '/datasets'), []);
  const [dataset, setDataset] = useState('iris');
  const [modelName, setModelName] = useState('');
  const [learningRate, setLearningRate] = useState('0.01, 0.05');
  const [hiddenUnits, setHiddenUnits] = useState('8, 16');
  const [epochs, setEpochs] = useState('60');
  const [message, setMessage] = useState<OutcomeMessage | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setMessage(null);
    const grid: Record<string, (string | number)[]> = {};
    if (list(learningRate).length) grid.learningRate = list(learningRate);
    if (list(hiddenUnits).length) grid.hiddenUnits = list(hiddenUnits);
    try {
      const accepted = await api<{ jobId: string }>('trainer', '/train', {
        method: 'POST',
        json: {
          dataset,
          ...(modelName.trim() ? { modelName: modelName.trim() } : {}),
          grid,
          ...(epochs.trim() ? { params: { epochs: Number(epochs) } } : {}),
        },
      });
      setMessage({ ok: true, text: `Job ${short(accepted.jobId)} queued.` });
    } catch (error) {
      setMessage({ ok: false, text: `Refused (${(error as ApiError).status}): ${(error as Error).message}` });
    }
  };
  const trials = Math.max(1, list(learningRate).length) * Math.max(1, list(hiddenUnits).length);
  return (
    <form className="card" onSubmit={(e) => void submit(e)} aria-labelledby="train-h">
      <h2 id="train-h">Start a training (grid search)</h2>
      <div className="row">
        <div className="field">
          <label htmlFor="train-dataset">Dataset</label>
          <select id="train-dataset" value={dataset} onChange={(e) => setDataset(e.target.value)}>
            {(datasets.data ?? [{ name: 'iris', imported: true } as DatasetSummary])
              .filter((d) => d.imported)
              .map((d) => (
                <option key={d.name}>{d.name}</option>
              ))}
          </select>
        </div>
        <TextField
          id="train-model"
          label="Model name (optional)"
          value={modelName}
          onChange={setModelName}
          placeholder="default"
        />
        <TextField
          id="train-lr"
          label="learningRate values"
          value={learningRate}
          onChange={setLearningRate}
        />
        <TextField
          id="train-hidden"
          label="hiddenUnits values"
          value={hiddenUnits}
          onChange={setHiddenUnits}
        />
        <TextField
          id="train-epochs"
          label="epochs"
          type="number"
          min={1}
          value={epochs}
          onChange={setEpochs}
        />
        <button type="submit" disabled={!can('train')} title={why('train')}>
          Start {trials} trial{trials === 1 ? '' : 's'}
        </button>
      </div>
      <Outcome message={message} />
    </form>
  );
}

export function Jobs() {
  const { jobs, problem, live } = useJobStream();
  const { can, why } = useKey();
  const [actionError, setActionError] = useState<Error>();
  const act = (job: JobView, action: 'cancel' | 'retry') => {
    setActionError(undefined);
    // Who asked is the caller's key (the registry records its name).
    const path = action === 'cancel' ? `/jobs/${job.id}` : `/jobs/${job.id}/retry`;
    api('registry', path, { method: action === 'cancel' ? 'DELETE' : 'POST' }).catch(setActionError);
  };
  return (
    <Page title="Jobs" actions={<span className="muted">{live ? 'live' : 'connecting…'}</span>}>
      <StartTraining />
      {problem && <p className="error">Job stream: {problem}</p>}
      <ErrorBox error={actionError} what="change the job" />
      <table aria-label="Jobs">
        <TableHead columns={['Job', 'State', 'Dataset', 'Model', 'Steps', 'Created', 'Actions']} />
        <tbody>
          {(jobs ?? []).map((job) => (
            <tr key={job.id} data-job={job.id}>
              <td>
                <code>{short(job.id)}</code>
                {job.attempt > 1 ? ` (attempt ${job.attempt})` : ''}
              </td>
              <td>
                <State state={job.state} />
              </td>
              <td>{job.dataset}</td>
              <td>
                {job.modelName && job.modelVersion ? (
                  <Link to={`/models/${encodeURIComponent(job.modelName)}`}>
                    {job.modelName} v{job.modelVersion}
                  </Link>
                ) : job.parentRunId ? (
                  <Link to={`/runs/${job.parentRunId}`}>sweep {short(job.parentRunId)}</Link>
                ) : (
                  '—'
                )}
              </td>
              <td>
                <div className="steps">
                  {job.steps.map((s) => (
                    <span
                      key={s.step}
                      className={`state state-${s.state}`}
                      data-step={s.step}
                      data-state={s.state}
                      title={
                        s.error ??
                        Object.entries(s.summary)
                          .map(([k, v]) => `${k}: ${String(v)}`)
                          .join(', ')
                      }
                    >
                      {s.title}
                    </span>
                  ))}
                </div>
                {job.error && <div className="muted">{job.error}</div>}
              </td>
              <td>{when(job.createdAt)}</td>
              <td>
                {!TERMINAL.includes(job.state) && (
                  <button
                    type="button"
                    className="secondary small"
                    disabled={!can('train')}
                    title={why('train')}
                    onClick={() => act(job, 'cancel')}
                  >
                    Cancel<span className="sr-only"> job {short(job.id)}</span>
                  </button>
                )}
                {(job.state === 'failed' || job.state === 'cancelled') && (
                  <button
                    type="button"
                    className="secondary small"
                    disabled={!can('train')}
                    title={why('train')}
                    onClick={() => act(job, 'retry')}
                  >
                    Retry<span className="sr-only"> job {short(job.id)}</span>
                  </button>
                )}
              </td>
            </tr>
          ))}
          {jobs && jobs.length === 0 && (
            <tr>
              <td colSpan={7}>No job yet.</td>
            </tr>
          )}
        </tbody>
      </table>
    </Page>
  );
}
