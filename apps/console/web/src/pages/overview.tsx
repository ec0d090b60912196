import { api } from '../api';
import { useLoad } from '../hooks';
import { Link } from '../router';
import type { DatasetSummary, DatasetVersion, JobView, ModelSummaryView, TrafficView } from '../types';
import { ErrorBox, fmt, Page, short, State, TableHead, when } from '../ui';

const LIVE_MS = 5_000;

export function Overview() {
  const models = useLoad(
    () => api<{ models: ModelSummaryView[] }>('registry', '/models?limit=100'),
    [],
    LIVE_MS,
  );
  const traffic = useLoad(() => api<TrafficView>('console', '/traffic'), [], LIVE_MS);
  const jobs = useLoad(
    async () => {
      const [running, queued] = await Promise.all([
        api<{ jobs: JobView[] }>('registry', '/jobs?state=running&maxResults=20'),
        api<{ jobs: JobView[] }>('registry', '/jobs?state=queued&maxResults=20'),
      ]);
      return [...running.jobs, ...queued.jobs];
    },
    [],
    LIVE_MS,
  );
  const datasets = useLoad(
    async () => {
      const list = await api<DatasetSummary[]>('data', '/datasets');
      return Promise.all(
        list
          .filter((d) => d.imported)
          .map((d) =>
            api<DatasetVersion>('data', `/datasets/${encodeURIComponent(d.name)}/versions/latest`).then(
              (version) => ({ ...d, version }),
            ),
          ),
      );
    },
    [],
    LIVE_MS * 3,
  );
  const t = traffic.data;
  const trafficOf = (name: string) => t?.models.find((m) => m.model === name);
  return (
    <Page title="Overview">
      <section aria-labelledby="models-h">
        <h2 id="models-h">Models</h2>
        <ErrorBox error={models.error} what="list the models" />
        {t && (
          <p className="muted">
            Gateway traffic over the last{' '}
            {t.windowSeconds >= 3600 ? 'hour' : `${Math.round(t.windowSeconds / 60)} min`}
            {t.sampledAt ? ` (sampled ${new Date(t.sampledAt).toLocaleTimeString()})` : ''}:{' '}
            {fmt(t.requestsPerSecond, 3)} req/s, p99 {t.p99Ms === null ? '—' : `${fmt(t.p99Ms, 3)} ms`},{' '}
            {t.errors} errors of {t.requests} requests.
            {t.error ? ` ${t.error}` : ''}
          </p>
        )}
        <table>
          <TableHead
            columns={[
              'Model',
              'Champion',
              'Aliases',
              { num: 'Served version' },
              { num: 'Req/s' },
              { num: 'p99' },
              { num: 'Errors' },
              { num: 'Rows/s' },
              'Predictions per class (last hour)',
            ]}
          />
          <tbody>
            {(models.data?.models ?? []).map((m) => {
              const mt = trafficOf(m.name);
              return (
                <tr key={m.name}>
                  <td>
                    <Link to={`/models/${encodeURIComponent(m.name)}`}>{m.name}</Link>
                  </td>
                  <td>{m.aliases.champion ? `v${m.aliases.champion}` : 'none'}</td>
                  <td>
                    {Object.entries(m.aliases)
                      .map(([a, v]) => `${a}: v${v}`)
                      .join(', ') || '—'}
                  </td>
                  <td className="num">{mt?.version ? `v${mt.version}` : '—'}</td>
                  <td className="num">{mt ? fmt(mt.requestsPerSecond, 3) : '—'}</td>
                  <td className="num">{mt?.p99Ms != null ? `${fmt(mt.p99Ms, 3)} ms` : '—'}</td>
                  <td
                    className="num"
                    title={mt ? `${mt.errors} of ${mt.requests} requests (4xx/5xx)` : undefined}
                  >
                    {mt ? mt.errors : '—'}
                  </td>
                  <td className="num">{mt ? fmt(mt.rowsPerSecond, 3) : '—'}</td>
                  <td>
                    {mt && Object.keys(mt.predictionsPerClass).length
                      ? Object.entries(mt.predictionsPerClass)
                          .map(([c, n]) => `${c}: ${n}`)
                          .join(' · ')
                      : '—'}
                  </td>
                </tr>
              );
            })}
            {models.data && models.data.models.length === 0 && (
              <tr>
                <td colSpan={9}>No model registered yet: start a training on the Jobs page.</td>
              </tr>
            )}
          </tbody>
        </table>
      </section>

      <section aria-labelledby="jobs-h">
        <h2 id="jobs-h">Running jobs</h2>
        <ErrorBox error={jobs.error} what="list the jobs" />
        {jobs.data && jobs.data.length === 0 && <p className="muted">No job is running or queued.</p>}
        {jobs.data && jobs.data.length > 0 && (
          <table>
            <TableHead columns={['Job', 'State', 'Dataset', 'Current step', 'Created']} />
            <tbody>
              {jobs.data.map((j) => (
                <tr key={j.id}>
                  <td>
                    <Link to="/jobs">{short(j.id)}</Link>
                  </td>
                  <td>
                    <State state={j.state} />
                  </td>
                  <td>{j.dataset}</td>
                  <td>{j.steps.find((s) => s.state === 'running')?.title ?? '—'}</td>
                  <td>{when(j.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section aria-labelledby="data-h">
        <h2 id="data-h">Latest dataset versions</h2>
        <ErrorBox error={datasets.error} what="list the datasets" />
        <table>
          <TableHead
            columns={[
              'Dataset',
              { num: 'Version' },
              'Id',
              { num: 'Rows' },
              { num: 'Train / test' },
              'Created',
            ]}
          />
          <tbody>
            {(datasets.data ?? []).map((d) => (
              <tr key={d.name}>
                <td>
                  <Link to={`/datasets/${encodeURIComponent(d.name)}`}>{d.name}</Link>
                </td>
                <td className="num">v{d.version.seq}</td>
                <td>
                  <code>{short(d.version.id, 12)}</code>
                </td>
                <td className="num">{d.version.rowCount}</td>
                <td className="num">
                  {d.version.trainRows} / {d.version.testRows}
                </td>
                <td>{when(d.version.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </Page>
  );
}
