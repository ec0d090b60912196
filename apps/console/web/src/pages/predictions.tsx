import { FormEvent, useState } from 'react';
import { api, enc } from '../api';
import { useLoad } from '../hooks';
import { Link } from '../router';
import type { ModelView, PredictionLogEntry, PredictionLogPageView } from '../types';
import { ErrorBox, fmt, Loading, Page, short, TableHead, TextField, when } from '../ui';

interface Filters {
  version: string;
  from: string;
  to: string;
  limit: string;
}

/** The time window's two bounds: the field and its label. */
const WINDOW = [
  ['from', 'From (inclusive)'],
  ['to', 'To (exclusive)'],
] as const;

/** A datetime-local value (the browser's local time) as ISO 8601, or undefined when empty. */
const iso = (local: string) => (local ? new Date(local).toISOString() : undefined);

function query(name: string, filters: Filters, after: string | undefined): string {
  const params = new URLSearchParams({ model: name, limit: filters.limit || '50' });
  if (filters.version) params.set('version', filters.version);
  const from = iso(filters.from);
  const to = iso(filters.to);
  if (from) params.set('from', from);
  if (to) params.set('to', to);
  if (after) params.set('after', after);
  return params.toString();
}

const answerOf = (e: PredictionLogEntry) => ('class' in e.output ? e.output.class : e.output.value);
const inputsOf = (e: PredictionLogEntry) =>
  Array.isArray(e.inputs)
    ? e.inputs.map((v) => fmt(v)).join(', ')
    : Object.entries(e.inputs)
        .map(([k, v]) => `${k}=${fmt(v)}`)
        .join(' ');

/** Whether a labelled prediction was right: the class, or a regressor's value within 1e-9 of the label. */
function verdict(e: PredictionLogEntry): string {
  if (e.label === null) return '—';
  const answer = answerOf(e);
  const right =
    typeof answer === 'number' ? Math.abs(answer - Number(e.label)) < 1e-9 : answer === String(e.label);
  return right ? 'right' : 'wrong';
}

/** The prediction log of a model: filters (version, time window, page size) and pages of logged predictions. */
export function PredictionLog({ name }: { name: string }) {
  const model = useLoad(() => api<ModelView>('registry', `/models/${enc(name)}`), [name]);
  const [draft, setDraft] = useState<Filters>({ version: '', from: '', to: '', limit: '50' });
  const [filters, setFilters] = useState<Filters>(draft);
  // The `after` of each page shown so far: the last one is the current page's.
  const [cursors, setCursors] = useState<string[]>([]);
  const after = cursors.at(-1);
  const page = useLoad(
    () => api<PredictionLogPageView>('data', `/predictions?${query(name, filters, after)}`),
    [name, JSON.stringify(filters), after],
  );
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilters(draft);
    setCursors([]);
  };
  const set = (field: keyof Filters) => (value: string) => setDraft({ ...draft, [field]: value });
  const items = page.data?.items ?? [];
  return (
    <Page
      title={`Prediction log of ${name}`}
      actions={<Link to={`/models/${enc(name)}/monitoring`}>Live quality and drift</Link>}
    >
      <p>
        What the gateways logged of <Link to={`/models/${enc(name)}`}>{name}</Link> (a sample of its
        predictions, PREDICTION_LOG_SAMPLE), oldest first, with the label once one arrived by prediction id.
      </p>
      <form className="card" onSubmit={apply} aria-labelledby="filters-h">
        <h2 id="filters-h">Filters</h2>
        <div className="row">
          <div className="field">
            <label htmlFor="log-version">Version</label>
            <select id="log-version" value={draft.version} onChange={(e) => set('version')(e.target.value)}>
              <option value="">every version</option>
              {(model.data?.versions ?? []).map((v) => (
                <option key={v.version} value={v.version}>
                  v{v.version}
                </option>
              ))}
            </select>
          </div>
          {WINDOW.map(([field, label]) => (
            <TextField
              key={field}
              id={`log-${field}`}
              label={label}
              type="datetime-local"
              value={draft[field]}
              onChange={set(field)}
            />
          ))}
          <TextField
            id="log-limit"
            label="Rows a page (≤ 1000)"
            type="number"
            min={1}
            value={draft.limit}
            onChange={set('limit')}
          />
          <button type="submit">Show</button>
        </div>
      </form>
      <ErrorBox error={page.error} what="load the prediction log" />
      <Loading when={page.loading && !page.data}>
        <p className="muted" data-testid="log-position">
          Page {cursors.length + 1}: {items.length} prediction(s)
          {items.length ? `, ${when(items[0].at)} to ${when(items[items.length - 1].at)}` : ''}
        </p>
        <table aria-label="Logged predictions">
          <TableHead
            columns={[
              'Prediction',
              'Time',
              'Version',
              'Inputs',
              'Answer',
              'Label',
              'Verdict',
              'Key',
              { num: 'ms' },
            ]}
          />
          <tbody>
            {items.map((e) => (
              <tr key={e.predictionId} data-prediction={e.predictionId}>
                <td title={e.predictionId}>{short(e.predictionId)}</td>
                <td>{when(e.at)}</td>
                <td>v{e.version}</td>
                <td>{inputsOf(e)}</td>
                <td>{fmt(answerOf(e))}</td>
                <td>{fmt(e.label)}</td>
                <td>{verdict(e)}</td>
                <td>{e.keyName ?? '—'}</td>
                <td className="num">{e.latencyMs.toFixed(2)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {items.length === 0 && <p className="muted">No logged prediction matches.</p>}
        <div className="row">
          <button
            type="button"
            className="secondary"
            disabled={cursors.length === 0}
            onClick={() => setCursors(cursors.slice(0, -1))}
          >
            Previous page
          </button>
          <button
            type="button"
            className="secondary"
            disabled={!page.data?.next}
            onClick={() => page.data?.next && setCursors([...cursors, page.data.next])}
          >
            Next page
          </button>
        </div>
      </Loading>
    </Page>
  );
}
