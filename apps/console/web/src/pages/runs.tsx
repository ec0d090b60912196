import { FormEvent, useMemo, useState } from 'react';
import { api, enc } from '../api';
import { useLoad } from '../hooks';
import { Link, navigate } from '../router';
import type { RunPage, RunView } from '../types';
import { ErrorBox, fmt, Page, short, State, TextField, when } from '../ui';

const ROW_HEIGHT = 33;
const VIEW_HEIGHT = 520;
const PAGE = 1000;
/** The most runs loaded into the table at once (the registry pages; the table renders only what is visible). */
const MAX_ROWS = 20_000;

async function searchRuns(filter: string, orderBy: string, limit: number): Promise<RunView[]> {
  const runs: RunView[] = [];
  let token: string | null = null;
  do {
    const params = new URLSearchParams({ limit: String(PAGE) });
    if (filter) params.set('filter', filter);
    if (orderBy) params.set('orderBy', orderBy);
    if (token) params.set('pageToken', token);
    const page: RunPage = await api<RunPage>('registry', `/runs?${params}`);
    runs.push(...page.runs);
    token = page.nextPageToken;
  } while (token && runs.length < limit);
  return runs;
}

export function Runs() {
  const query = new URLSearchParams(window.location.search);
  const [filter, setFilter] = useState(query.get('filter') ?? '');
  const [orderBy, setOrderBy] = useState(query.get('orderBy') ?? 'start_time DESC');
  const [applied, setApplied] = useState({ filter, orderBy });
  const runs = useLoad(
    () => searchRuns(applied.filter, applied.orderBy, MAX_ROWS),
    [applied.filter, applied.orderBy],
  );
  const [columns, setColumns] = useState<string[] | null>(null);
  const [selected, setSelected] = useState<string[]>([]);
  const [scrollTop, setScrollTop] = useState(0);

  const keys = useMemo(() => {
    const params = new Set<string>();
    const metrics = new Set<string>();
    for (const run of runs.data ?? []) {
      for (const k of Object.keys(run.params)) params.add(`params.${k}`);
      for (const k of Object.keys(run.metrics)) metrics.add(`metrics.${k}`);
    }
    return [...[...params].sort(), ...[...metrics].sort()];
  }, [runs.data]);
  const shown =
    columns ??
    keys.filter((k) =>
      /^metrics\.(accuracy|val_accuracy|f1|loss)$|^params\.(learningRate|hiddenUnits)$/.test(k),
    );

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setApplied({ filter: filter.trim(), orderBy: orderBy.trim() });
    const params = new URLSearchParams();
    if (filter.trim()) params.set('filter', filter.trim());
    if (orderBy.trim()) params.set('orderBy', orderBy.trim());
    history.replaceState(null, '', `/runs?${params}`);
  };
  const toggle = (id: string) =>
    setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : s.length >= 10 ? s : [...s, id]));

  const all = runs.data ?? [];
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - 10);
  const last = Math.min(all.length, first + Math.ceil(VIEW_HEIGHT / ROW_HEIGHT) + 20);
  const value = (run: RunView, key: string) => {
    const [kind, ...rest] = key.split('.');
    const name = rest.join('.');
    return kind === 'params' ? run.params[name] : run.metrics[name];
  };
  const colSpan = 6 + shown.length;

  return (
    <Page
      title="Runs"
      actions={
        <button
          type="button"
          disabled={selected.length < 2}
          title={selected.length < 2 ? 'Select 2 to 10 runs' : undefined}
          onClick={() => navigate(`/runs/compare?ids=${selected.map(enc).join(',')}`)}
        >
          Compare {selected.length} selected
        </button>
      }
    >
      <form className="inline" onSubmit={submit}>
        <div className="field" style={{ flex: 2 }}>
          <label htmlFor="run-filter">
            Filter (e.g. metrics.accuracy &gt; 0.9 AND params.hiddenUnits = '16')
          </label>
          <input id="run-filter" value={filter} onChange={(e) => setFilter(e.target.value)} />
        </div>
        <TextField
          id="run-order"
          label="Order by (e.g. metrics.accuracy DESC)"
          value={orderBy}
          onChange={setOrderBy}
          style={{ flex: 1 }}
        />
        <button type="submit">Search</button>
      </form>
      <ErrorBox error={runs.error} what="search the runs" />
      <details>
        <summary>
          Columns ({shown.length} of {keys.length})
        </summary>
        <fieldset className="columns">
          <legend className="sr-only">Param and metric columns</legend>
          {keys.map((k) => (
            <label key={k}>
              <input
                type="checkbox"
                checked={shown.includes(k)}
                onChange={() => setColumns(shown.includes(k) ? shown.filter((c) => c !== k) : [...shown, k])}
              />
              {k}
            </label>
          ))}
        </fieldset>
      </details>
      <p className="muted">
        {runs.loading
          ? 'Loading…'
          : `${all.length} runs${all.length >= MAX_ROWS ? ` (the first ${MAX_ROWS})` : ''}`}
      </p>
      <div
        className="scroll"
        style={{ height: VIEW_HEIGHT }}
        tabIndex={0}
        role="region"
        aria-label="Runs table"
        onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      >
        <table>
          <thead>
            <tr>
              <th>
                <span className="sr-only">Select</span>
              </th>
              <th>Run</th>
              <th>Status</th>
              <th>Experiment</th>
              <th>Started</th>
              <th>Parent</th>
              {shown.map((k) => (
                <th key={k} className="num">
                  {k}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {first > 0 && (
              <tr aria-hidden="true" style={{ height: first * ROW_HEIGHT }}>
                <td colSpan={colSpan} />
              </tr>
            )}
            {all.slice(first, last).map((run) => (
              <tr key={run.id} style={{ height: ROW_HEIGHT }}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Select run ${run.name ?? short(run.id)}`}
                    checked={selected.includes(run.id)}
                    onChange={() => toggle(run.id)}
                  />
                </td>
                <td>
                  <Link to={`/runs/${run.id}`}>{run.name ?? short(run.id)}</Link>
                </td>
                <td>
                  <State state={run.status} />
                </td>
                <td>{run.experiment}</td>
                <td>{when(run.startTime)}</td>
                <td>
                  {run.parentRunId ? (
                    <Link to={`/runs/${run.parentRunId}`}>{short(run.parentRunId)}</Link>
                  ) : (
                    '—'
                  )}
                </td>
                {shown.map((k) => (
                  <td key={k} className="num">
                    {fmt(value(run, k))}
                  </td>
                ))}
              </tr>
            ))}
            {last < all.length && (
              <tr aria-hidden="true" style={{ height: (all.length - last) * ROW_HEIGHT }}>
                <td colSpan={colSpan} />
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </Page>
  );
}
