import { useState } from 'react';
import { api, enc } from '../api';
import { LineChart } from '../charts';
import { useLoad } from '../hooks';
import { Link } from '../router';
import type { RunView } from '../types';
import { ErrorBox, fmt, Page, short } from '../ui';
import { curves, MetricPoint, toSeries } from './curves';

export function Compare({ ids }: { ids: string[] }) {
  const valid = ids.length >= 2 && ids.length <= 10;
  const runs = useLoad(async () => {
    if (!valid) return [];
    const loaded = await Promise.all(ids.map((id) => api<RunView>('registry', `/runs/${enc(id)}`)));
    const histories = await Promise.all(loaded.map((r) => curves(r.id, Object.keys(r.metrics))));
    return loaded.map((run, i) => ({ run, history: histories[i] }));
  }, [ids.join(',')]);
  const data = runs.data ?? [];
  const curveKeys = [...new Set(data.flatMap((d) => Object.keys(d.history)))].sort();
  const [chosen, setChosen] = useState<string>('');
  const key = chosen || curveKeys.find((k) => k === 'val_loss') || curveKeys[0] || '';
  const paramKeys = [...new Set(data.flatMap((d) => Object.keys(d.run.params)))].sort();
  const metricKeys = [...new Set(data.flatMap((d) => Object.keys(d.run.metrics)))].sort();
  const label = (r: RunView) => r.name ?? short(r.id);
  const differs = (values: unknown[]) => new Set(values.map((v) => JSON.stringify(v ?? null))).size > 1;
  const best = (k: string) => {
    const values = data.map((d) => d.run.metrics[k]).filter((v) => v !== undefined);
    if (!values.length) return undefined;
    return /loss|error/.test(k) ? Math.min(...values) : Math.max(...values);
  };
  return (
    <Page title={`Compare ${ids.length} runs`}>
      {!valid && <p className="error">Choose 2 to 10 runs to compare (on the Runs page).</p>}
      <ErrorBox error={runs.error} what="load the runs" />
      {data.length > 0 && (
        <>
          <h2>Params</h2>
          <table>
            <thead>
              <tr>
                <th>Param</th>
                {data.map((d) => (
                  <th key={d.run.id}>
                    <Link to={`/runs/${d.run.id}`}>{label(d.run)}</Link>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {paramKeys.map((k) => {
                const values = data.map((d) => d.run.params[k]);
                return (
                  <tr key={k} className={differs(values) ? 'diff' : undefined}>
                    <th scope="row">{k}</th>
                    {values.map((v, i) => (
                      <td key={i}>{fmt(v)}</td>
                    ))}
                  </tr>
                );
              })}
            </tbody>
          </table>
          <h2>Metrics</h2>
          <table>
            <thead>
              <tr>
                <th>Metric</th>
                {data.map((d) => (
                  <th key={d.run.id} className="num">
                    {label(d.run)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {metricKeys.map((k) => {
                const top = best(k);
                return (
                  <tr key={k}>
                    <th scope="row">{k}</th>
                    {data.map((d) => (
                      <td
                        key={d.run.id}
                        className="num"
                        style={{ fontWeight: d.run.metrics[k] === top ? 700 : 400 }}
                      >
                        {fmt(d.run.metrics[k])}
                      </td>
                    ))}
                  </tr>
                );
              })}
            </tbody>
          </table>
          <h2>Curves</h2>
          {curveKeys.length === 0 ? (
            <p className="muted">None of these runs logged per-epoch metrics.</p>
          ) : (
            <>
              <div className="field" style={{ maxWidth: 240 }}>
                <label htmlFor="curve-key">Metric</label>
                <select id="curve-key" value={key} onChange={(e) => setChosen(e.target.value)}>
                  {curveKeys.map((k) => (
                    <option key={k}>{k}</option>
                  ))}
                </select>
              </div>
              <LineChart
                title={`${key} per epoch`}
                xLabel="epoch"
                height={300}
                series={data
                  .filter((d) => d.history[key])
                  .map((d) => toSeries(label(d.run), d.history[key] as MetricPoint[]))}
              />
            </>
          )}
        </>
      )}
    </Page>
  );
}
