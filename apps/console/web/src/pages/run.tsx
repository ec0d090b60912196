import { api, enc } from '../api';
import { LineChart } from '../charts';
import { useLoad } from '../hooks';
import { Link } from '../router';
import type { RunPage, RunView } from '../types';
import { ErrorBox, fmt, Page, short, State, TableHead, when } from '../ui';
import { curves, MetricPoint, toSeries } from './curves';
import { Misclassified } from './misclassified';

function ConfusionMatrix({ json }: { json: string }) {
  let parsed: { labels: string[]; matrix: number[][] };
  try {
    parsed = JSON.parse(json) as { labels: string[]; matrix: number[][] };
  } catch {
    return null;
  }
  return (
    <table
      className="matrix"
      aria-label="Confusion matrix: rows are the true class, columns the predicted class"
    >
      <thead>
        <tr>
          <th>true \ predicted</th>
          {parsed.labels.map((l) => (
            <th key={l}>{l}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {parsed.matrix.map((row, i) => (
          <tr key={i}>
            <th scope="row">{parsed.labels[i]}</th>
            {row.map((n, j) => (
              <td key={j} style={{ fontWeight: i === j ? 700 : 400 }}>
                {n}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function RunPage({ id }: { id: string }) {
  const run = useLoad(() => api<RunView>('registry', `/runs/${enc(id)}`), [id]);
  const history = useLoad(
    (): Promise<Record<string, MetricPoint[]>> =>
      run.data ? curves(id, Object.keys(run.data.metrics)) : Promise.resolve({}),
    [id, run.data?.id],
  );
  const children = useLoad(
    () =>
      run.data && run.data.childrenCount > 0
        ? api<RunPage>('registry', `/runs?parentRunId=${enc(id)}&limit=1000`).then((p) => p.runs)
        : Promise.resolve([] as RunView[]),
    [id, run.data?.childrenCount],
  );
  const r = run.data;
  const groups = new Map<string, string[]>();
  for (const key of Object.keys(history.data ?? {})) {
    const base = key.replace(/^val_/, '');
    groups.set(base, [...(groups.get(base) ?? []), key]);
  }
  return (
    <Page title={`Run ${r?.name ?? short(id)}`}>
      <ErrorBox error={run.error} what="load the run" />
      {r && (
        <>
          <p>
            <State state={r.status} /> {r.experiment} · started {when(r.startTime)} · ended {when(r.endTime)}{' '}
            · dataset {r.dataset ?? '—'}{' '}
            {r.datasetVersion ? <code>{short(r.datasetVersion, 12)}</code> : null}
            {r.parentRunId && (
              <>
                {' '}
                · sweep <Link to={`/runs/${r.parentRunId}`}>{short(r.parentRunId)}</Link>
              </>
            )}
          </p>
          {r.error && <p className="error">{r.error}</p>}
          <div className="cards">
            <div className="card">
              <h2>Params</h2>
              <table>
                <tbody>
                  {Object.entries(r.params).map(([k, v]) => (
                    <tr key={k}>
                      <th scope="row">{k}</th>
                      <td>{fmt(v)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div className="card">
              <h2>Metrics</h2>
              <table>
                <tbody>
                  {Object.entries(r.metrics).map(([k, v]) => (
                    <tr key={k}>
                      <th scope="row">{k}</th>
                      <td className="num">{fmt(v)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {r.tags.confusion_matrix && (
              <div className="card">
                <h2>Confusion matrix (test split)</h2>
                <ConfusionMatrix json={r.tags.confusion_matrix} />
              </div>
            )}
            {r.tags.misclassified && r.dataset && (
              <Misclassified dataset={r.dataset} json={r.tags.misclassified} />
            )}
          </div>
          <h2>Curves per epoch</h2>
          <ErrorBox error={history.error} what="load the metric histories" />
          {groups.size === 0 && !history.loading && (
            <p className="muted">This run logged no per-epoch metric.</p>
          )}
          <div className="charts">
            {[...groups.entries()].map(([base, keys]) => (
              <LineChart
                key={base}
                title={base}
                xLabel="epoch"
                series={keys.map((k) => toSeries(k, history.data![k]))}
              />
            ))}
          </div>
          {(children.data ?? []).length > 0 && (
            <>
              <h2>Trials of this sweep</h2>
              <table>
                <TableHead columns={['Run', 'Status', 'Params', 'Metrics']} />
                <tbody>
                  {children.data!.map((c) => (
                    <tr key={c.id}>
                      <td>
                        <Link to={`/runs/${c.id}`}>{c.name ?? short(c.id)}</Link>
                      </td>
                      <td>
                        <State state={c.status} />
                      </td>
                      <td>
                        {Object.entries(c.params)
                          .map(([k, v]) => `${k}=${fmt(v)}`)
                          .join(', ')}
                      </td>
                      <td>
                        {Object.entries(c.metrics)
                          .map(([k, v]) => `${k}=${fmt(v)}`)
                          .join(', ')}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <p>
                <Link
                  to={`/runs/compare?ids=${children
                    .data!.slice(0, 10)
                    .map((c) => c.id)
                    .join(',')}`}
                >
                  Compare these trials
                </Link>
              </p>
            </>
          )}
        </>
      )}
    </Page>
  );
}
