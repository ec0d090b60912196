import { ChangeEvent, useState } from 'react';
import { api, ApiError, call, enc } from '../api';
import { useKey } from '../auth';
import { useLoad } from '../hooks';
import { Link, navigate } from '../router';
import type { DatasetSummary, DatasetVersion } from '../types';
import { ErrorBox, Page, short, TableHead, TextField, when } from '../ui';
import { VersionSelect } from '../version-select';
import { ImageSamples } from './image-samples';

interface DryRun {
  dryRun?: boolean;
  schema?: Record<string, unknown>;
  rowCount?: number;
  problems?: unknown[];
}

/** Download through fetch, so the key header goes along. */
async function download(path: string, fallbackName: string) {
  const response = await call('data', path);
  if (!response.ok) throw new ApiError(response.status, await response.text());
  const disposition = response.headers.get('content-disposition') ?? '';
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function SchemaView({ schema }: { schema: Record<string, unknown> }) {
  // `columns` (name, type, encoding) where the data service gives feature types, else the feature names.
  const features = Array.isArray(schema.columns)
    ? (schema.columns as unknown[])
    : Array.isArray(schema.features)
      ? (schema.features as unknown[])
      : [];
  const rest = Object.entries(schema).filter(([k]) => k !== 'features' && k !== 'columns');
  return (
    <div>
      <table aria-label="Inferred schema">
        <TableHead columns={['Feature', 'Type', 'Details']} />
        <tbody>
          {features.map((f, i) => {
            const feature = typeof f === 'string' ? { name: f } : (f as Record<string, unknown>);
            const { name, type, ...details } = feature;
            return (
              <tr key={i}>
                <td>{String(name ?? i)}</td>
                <td>{String(type ?? 'numeric')}</td>
                <td>{Object.keys(details).length ? JSON.stringify(details) : ''}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <ul>
        {rest.map(([k, v]) => (
          <li key={k}>
            {k}: {typeof v === 'string' ? v : JSON.stringify(v)}
          </li>
        ))}
      </ul>
    </div>
  );
}

function ImportCsv({ onImported }: { onImported: (name: string) => void }) {
  const { can, why } = useKey();
  const [name, setName] = useState('');
  const [target, setTarget] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [dry, setDry] = useState<DryRun | null>(null);
  const [message, setMessage] = useState<{ kind: 'error' | 'notice' | 'ok'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const query = (dryRun: boolean) => {
    const params = new URLSearchParams();
    if (dryRun) params.set('dryRun', 'true');
    if (target.trim()) params.set('target', target.trim());
    if (file) params.set('fileName', file.name);
    return `/datasets/${enc(name.trim())}/import?${params}`;
  };
  const send = async (dryRun: boolean) => {
    if (!file || !name.trim()) return;
    setBusy(true);
    setMessage(null);
    try {
      const answer = await api<DryRun & { version?: DatasetVersion; created?: boolean }>(
        'data',
        query(dryRun),
        {
          method: 'POST',
          body: await file.text(),
          contentType: 'text/csv',
        },
      );
      if (dryRun) {
        if (!answer || answer.dryRun !== true || !answer.schema) {
          setMessage({
            kind: 'notice',
            text: 'This data service does not preview an uploaded CSV yet (no dry-run answer): nothing was written.',
          });
        } else setDry(answer);
      } else {
        setMessage({
          kind: 'ok',
          text: `Imported ${name}: version v${answer.version?.seq ?? '?'} (${short(answer.version?.id, 12)}), ${answer.version?.rowCount ?? '?'} rows.`,
        });
        setDry(null);
        onImported(name.trim());
      }
    } catch (error) {
      const e = error as ApiError;
      const missing = [404, 405, 415].includes(e.status) || /content.?type|unsupported/i.test(e.message);
      setMessage({
        kind: missing ? 'notice' : 'error',
        text: missing
          ? `This data service cannot import an uploaded CSV yet (it answered ${e.status}: ${e.message}). Nothing was written.`
          : `The import was refused (${e.status}): ${e.message}`,
      });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="import-h" className="card">
      <h2 id="import-h">Import a CSV</h2>
      <p className="muted">The schema is inferred and shown first; nothing is written until you import.</p>
      <div className="row">
        <TextField
          id="ds-name"
          label="Dataset name"
          value={name}
          onChange={setName}
          placeholder="e.g. penguins"
        />
        <TextField
          id="ds-target"
          label="Target column (optional)"
          value={target}
          onChange={setTarget}
          placeholder="last column"
        />
        <div className="field">
          <label htmlFor="ds-file">CSV file</label>
          <input
            id="ds-file"
            type="file"
            accept=".csv,text/csv"
            onChange={(e: ChangeEvent<HTMLInputElement>) => {
              setFile(e.target.files?.[0] ?? null);
              setDry(null);
            }}
          />
        </div>
        <button
          type="button"
          disabled={!file || !name.trim() || busy || !can('data:write')}
          title={why('data:write')}
          onClick={() => void send(true)}
        >
          Preview schema
        </button>
      </div>
      {message && (
        <p className={message.kind} role={message.kind === 'error' ? 'alert' : 'status'}>
          {message.text}
        </p>
      )}
      {dry && (
        <div data-testid="dry-run">
          <h3>Inferred schema ({dry.rowCount ?? '?'} rows)</h3>
          {dry.schema && <SchemaView schema={dry.schema} />}
          {dry.problems && dry.problems.length > 0 && (
            <>
              <h3>Problems</h3>
              <ul>
                {dry.problems.map((p, i) => (
                  <li key={i}>{typeof p === 'string' ? p : JSON.stringify(p)}</li>
                ))}
              </ul>
            </>
          )}
          <button
            type="button"
            disabled={busy || !can('data:write')}
            title={why('data:write')}
            onClick={() => void send(false)}
          >
            Import {name}
          </button>
        </div>
      )}
    </section>
  );
}

function Versions({ name }: { name: string }) {
  const versions = useLoad(() => api<DatasetVersion[]>('data', `/datasets/${enc(name)}/versions`), [name]);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const diff = useLoad(
    () =>
      from && to
        ? api<{
            rowsAdded: number;
            rowsRemoved: number;
            rowsMovedBetweenSplits: number;
            from: { classCounts: DatasetVersion['classCounts'] };
            to: { classCounts: DatasetVersion['classCounts'] };
          }>('data', `/datasets/${enc(name)}/diff?from=${enc(from)}&to=${enc(to)}`)
        : Promise.resolve(undefined),
    [name, from, to],
  );
  const [downloadError, setDownloadError] = useState<Error>();
  const list = versions.data ?? [];
  const seqOf = (id: string | null) => list.find((v) => v.id === id)?.seq;
  return (
    <section aria-labelledby="versions-h">
      <h2 id="versions-h">Versions of {name}</h2>
      <ErrorBox error={versions.error} what="list the versions" />
      <ErrorBox error={downloadError} what="export" />
      <table>
        <TableHead
          columns={[
            'Version',
            'Id',
            'Parent',
            'Reason',
            { num: 'Rows' },
            { num: 'Train' },
            { num: 'Test' },
            'Classes (train / test)',
            'Cleaning rules',
            'Created',
            'Export',
          ]}
        />
        <tbody>
          {list.map((v) => (
            <tr key={v.id}>
              <td>v{v.seq}</td>
              <td>
                <code>{short(v.id, 12)}</code>
              </td>
              <td>{v.parentId ? `v${seqOf(v.parentId) ?? '?'} (${short(v.parentId)})` : '—'}</td>
              <td>{v.reason}</td>
              <td className="num">{v.rowCount}</td>
              <td className="num">{v.trainRows}</td>
              <td className="num">{v.testRows}</td>
              <td>
                {Object.keys({ ...v.classCounts.train, ...v.classCounts.test })
                  .map((c) => `${c} ${v.classCounts.train[c] ?? 0}/${v.classCounts.test[c] ?? 0}`)
                  .join(' · ')}
              </td>
              <td>
                {v.cleaningRules.length === 0
                  ? '—'
                  : v.cleaningRules.map((r) => (
                      <div key={r.id + r.row} title={r.reference}>
                        {r.id} row {r.row}:{' '}
                        {r.changes.map((c) => `${c.feature} ${String(c.from)}→${String(c.to)}`).join(', ')}
                      </div>
                    ))}
              </td>
              <td>{when(v.createdAt)}</td>
              <td>
                <button
                  type="button"
                  className="secondary small"
                  onClick={() =>
                    void download(
                      `/datasets/${enc(name)}/versions/${v.id}/export.csv`,
                      `${name}-v${v.seq}.csv`,
                    ).catch(setDownloadError)
                  }
                >
                  CSV<span className="sr-only"> of v{v.seq}</span>
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.some((v) => v.schema.image) && <ImageSamples name={name} versions={list} />}
      <h3>Diff between two versions</h3>
      <div className="row">
        <VersionSelect id="diff-from" label="From" versions={list} value={from} onChange={setFrom} />
        <VersionSelect id="diff-to" label="To" versions={list} value={to} onChange={setTo} />
      </div>
      <ErrorBox error={diff.error} what="compute the diff" />
      {diff.data && (
        <div>
          <p>
            {diff.data.rowsAdded} rows added, {diff.data.rowsRemoved} removed,{' '}
            {diff.data.rowsMovedBetweenSplits} moved between splits.
          </p>
          <table aria-label="Class counts of both versions">
            <TableHead columns={['Class', { num: 'Train (from → to)' }, { num: 'Test (from → to)' }]} />
            <tbody>
              {Object.keys({ ...diff.data.from.classCounts.train, ...diff.data.to.classCounts.train }).map(
                (c) => (
                  <tr key={c}>
                    <td>{c}</td>
                    <td className="num">
                      {diff.data!.from.classCounts.train[c] ?? 0} → {diff.data!.to.classCounts.train[c] ?? 0}
                    </td>
                    <td className="num">
                      {diff.data!.from.classCounts.test[c] ?? 0} → {diff.data!.to.classCounts.test[c] ?? 0}
                    </td>
                  </tr>
                ),
              )}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function Datasets({ name }: { name?: string }) {
  const datasets = useLoad(() => api<DatasetSummary[]>('data', '/datasets'), []);
  return (
    <Page title="Datasets">
      <ErrorBox error={datasets.error} what="list the datasets" />
      <table>
        <TableHead columns={['Dataset', 'Description', { num: 'Versions' }, 'Latest']} />
        <tbody>
          {(datasets.data ?? []).map((d) => (
            <tr key={d.name} aria-current={d.name === name ? 'true' : undefined}>
              <td>
                <Link to={`/datasets/${enc(d.name)}`}>{d.name}</Link>
              </td>
              <td>{d.description}</td>
              <td className="num">{d.versionCount}</td>
              <td>
                <code>{short(d.latestVersion, 12)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {name && <Versions key={name} name={name} />}
      <ImportCsv
        onImported={(imported) => {
          datasets.reload();
          navigate(`/datasets/${enc(imported)}`);
        }}
      />
    </Page>
  );
}
