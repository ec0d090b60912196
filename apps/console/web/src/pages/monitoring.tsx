import { useState } from 'react';
import { api, ApiError, enc } from '../api';
import { PairedBarChart } from '../charts';
import { useLoad } from '../hooks';
import { Link } from '../router';
import type { LiveQualityView, ModelDriftView, ModelView } from '../types';
import { ErrorBox, fmt, Page, TableHead } from '../ui';

const METRIC_NAMES: Record<string, string> = {
  accuracy: 'accuracy',
  macro_f1: 'macro-F1',
  rmse: 'RMSE',
  mae: 'MAE',
};
/** Higher is better for accuracy and macro-F1, lower for the errors. */
const HIGHER_IS_BETTER = new Set(['accuracy', 'macro_f1']);

/** Reads as the console's polling pages do: every 15 s. */
const REFRESH_MS = 15_000;

/** Live quality per version, next to the test figure the version was registered with. */
function LiveQuality({ model, quality }: { model: ModelView; quality: LiveQualityView | undefined }) {
  const rows = [...model.versions].reverse().flatMap((v) => {
    const live = quality?.versions.find((q) => q.version === v.version);
    if (!live) {
      const test = v.metrics.test_accuracy ?? v.metrics.test_rmse;
      return [
        {
          key: `${v.version}`,
          version: v.version,
          metric: v.metrics.test_rmse !== undefined ? 'rmse' : 'accuracy',
          value: null as number | null,
          test: test ?? null,
          labelled: 0,
        },
      ];
    }
    return live.metrics.map((m) => ({
      key: `${v.version}-${m.metric}`,
      version: v.version,
      metric: m.metric as string,
      value: m.value as number | null,
      test: m.test ?? v.metrics[`test_${m.metric}`] ?? null,
      labelled: live.labelled,
    }));
  });
  return (
    <table aria-label="Live quality">
      <TableHead
        columns={[
          'Version',
          'Metric',
          { num: 'Live' },
          { num: 'Test' },
          { num: 'Live − test' },
          { num: 'Labelled rows' },
        ]}
      />
      <tbody>
        {rows.map((r) => {
          const delta = r.value !== null && r.test !== null ? r.value - r.test : null;
          const worse = delta !== null && (HIGHER_IS_BETTER.has(r.metric) ? delta < 0 : delta > 0);
          return (
            <tr key={r.key} data-version={r.version} data-metric={r.metric}>
              <td>v{r.version}</td>
              <td>{METRIC_NAMES[r.metric] ?? r.metric}</td>
              <td className="num">{r.value === null ? 'no labels yet' : fmt(r.value, 3)}</td>
              <td className="num">{fmt(r.test, 3)}</td>
              <td className={`num${worse ? ' worse' : ''}`}>
                {delta === null ? '—' : `${delta > 0 ? '+' : ''}${fmt(delta, 3)}${worse ? ' (worse)' : ''}`}
              </td>
              <td className="num">{r.labelled}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

const psiWord = (psi: number) => (psi > 0.2 ? 'significant drift' : psi >= 0.1 ? 'moderate shift' : 'stable');

/** A feature's bins as labels: below the first edge, between edges, from the last edge. */
function binLabels(edges: number[]): string[] {
  if (edges.length === 0) return ['all'];
  return [
    `< ${fmt(edges[0], 3)}`,
    ...edges.slice(1).map((edge, i) => `${fmt(edges[i], 3)}–${fmt(edge, 3)}`),
    `≥ ${fmt(edges[edges.length - 1], 3)}`,
  ];
}

function Drift({ drift, version }: { drift: ModelDriftView; version: number | null }) {
  const shown = drift.versions.find((v) => v.version === version) ?? drift.versions.at(-1);
  if (!shown)
    return <p className="muted">No loaded version of this model has a training reference to compare with.</p>;
  return (
    <>
      <p data-testid="drift-window">
        v{shown.version}: {shown.windowRows} of the last {shown.windowSize} scored rows in the window
        {shown.windowRows < shown.minRows ? ` (PSI from ${shown.minRows} rows on)` : ''}; PSI above{' '}
        {shown.threshold || '—'} announces drift.
      </p>
      <table aria-label="Feature drift">
        <TableHead columns={['Feature', { num: 'PSI' }, 'Reading']} />
        <tbody>
          {shown.features.map((f) => (
            <tr key={f.name} data-feature={f.name}>
              <td>{f.name}</td>
              <td className="num">{f.psi === null ? '—' : fmt(f.psi, 3)}</td>
              <td>{f.psi === null ? 'too few rows yet' : psiWord(f.psi)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="charts">
        {shown.features.map((f) => (
          <PairedBarChart
            key={`${shown.version}-${f.name}`}
            title={`${f.name}: PSI ${f.psi === null ? '—' : fmt(f.psi, 3)}`}
            labels={binLabels(f.edges)}
            series={[
              { label: 'training (reference)', values: f.reference },
              { label: 'live window', values: f.live ?? f.reference.map(() => null) },
            ]}
          />
        ))}
      </div>
    </>
  );
}

/** A model's live quality per version beside its test figure, and the drift of each feature of a loaded version. */
export function Monitoring({ name }: { name: string }) {
  const model = useLoad(() => api<ModelView>('registry', `/models/${enc(name)}`), [name]);
  const quality = useLoad(
    () => api<LiveQualityView>('data', `/predictions/quality?model=${enc(name)}`),
    [name],
    REFRESH_MS,
  );
  const drift = useLoad(
    () => api<ModelDriftView>('inference', `/models/${enc(name)}/drift`, { quiet: true }),
    [name],
    REFRESH_MS,
  );
  const [version, setVersion] = useState<number | null>(null);
  const notServed = drift.error instanceof ApiError && drift.error.status === 404;
  return (
    <Page
      title={`Live quality and drift of ${name}`}
      actions={<Link to={`/models/${enc(name)}/predictions`}>Prediction log</Link>}
    >
      <h2>Live quality</h2>
      <p>
        Each version on the logged predictions a label joined (feedback with a prediction id) in the last{' '}
        {quality.data?.windowMinutes ?? '…'} minutes, beside its test figure from training.
      </p>
      <ErrorBox error={model.error} what="load the model" />
      <ErrorBox error={quality.error} what="load live quality" />
      {model.data && <LiveQuality model={model.data} quality={quality.data} />}
      <h2>Drift</h2>
      <p>
        Each feature&apos;s distribution over the gateway&apos;s last scored rows against the training split,
        in the bins the trainer fitted, and their population stability index (&lt; 0.1 stable, &gt; 0.2
        significant).
      </p>
      {notServed ? (
        <p className="muted">The gateway does not serve {name}: no live window to compare.</p>
      ) : (
        <ErrorBox error={drift.error} what="load the drift" />
      )}
      {drift.data && drift.data.versions.length > 1 && (
        <div className="field">
          <label htmlFor="drift-version">Version</label>
          <select
            id="drift-version"
            value={version ?? drift.data.versions.at(-1)!.version}
            onChange={(e) => setVersion(Number(e.target.value))}
          >
            {drift.data.versions.map((v) => (
              <option key={v.version} value={v.version}>
                v{v.version}
              </option>
            ))}
          </select>
        </div>
      )}
      {drift.data && <Drift drift={drift.data} version={version} />}
    </Page>
  );
}
