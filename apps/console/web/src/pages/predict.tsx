import { FormEvent, useState } from 'react';
import { api, ApiError } from '../api';
import { useKey } from '../auth';
import { useLoad } from '../hooks';
import { ErrorBox, fmt, Page, short } from '../ui';
import {
  FileField,
  ImagePredict,
  PredictionResult,
  type ClassAnswer,
  type ImageInput,
} from './predict-image';

interface ServedModel {
  served: boolean;
  name?: string;
  version?: number;
  sha256?: string;
  featureNames?: string[];
  labels?: string[];
  /** Where the gateway describes them: feature types and categorical choices. */
  features?: { name: string; type?: string; categories?: string[] }[];
  /** An image model's input. */
  image?: ImageInput | null;
}

/** Rows at most per batch request (the gateway's MAX_BATCH_ROWS default). */
const BATCH = 1000;

function parseCsv(text: string): { header: string[]; rows: string[][] } {
  const lines = text.split(/\r?\n/).filter((l) => l.trim());
  const split = (line: string) => line.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
  return { header: split(lines[0] ?? ''), rows: lines.slice(1).map(split) };
}

const csvCell = (v: string | number) =>
  typeof v === 'string' && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : String(v);

interface Signature {
  name: string;
  version?: number;
  sha256?: string;
  features: { name: string; type?: string; categories?: string[] }[];
  labels: string[];
  /** POST path: the gateway's default model at /predict, any other at /predict/{model}. */
  path: string;
  /** An image model's input: the page then takes an image instead of a row. */
  image?: ImageInput;
}

const asFeature = (f: unknown) =>
  typeof f === 'string' ? { name: f } : (f as { name: string; type?: string; categories?: string[] });

export function Predict() {
  const { can, why } = useKey();
  // The default model (GET /model) and, where the gateway serves several, the others (GET /models).
  const model = useLoad(async () => {
    const one = await api<ServedModel>('inference', '/model');
    let names = one.served && one.name ? [one.name] : [];
    try {
      const list = await api<{ name: string; served: boolean }[]>('inference', '/models', { quiet: true });
      if (Array.isArray(list))
        names = [...new Set([...names, ...list.filter((m) => m.served).map((m) => m.name)])];
    } catch {
      // A gateway serving one model has no /models.
    }
    return { one, names };
  }, []);
  const [chosen, setChosen] = useState('');
  const name = chosen || model.data?.one.name || model.data?.names[0] || '';
  const signature = useLoad(async (): Promise<Signature | undefined> => {
    const one = model.data?.one;
    if (!name) return undefined;
    if (one?.served && one.name === name) {
      return {
        name,
        version: one.version,
        sha256: one.sha256,
        features: one.features ?? (one.featureNames ?? []).map((n) => ({ name: n })),
        labels: one.labels ?? [],
        path: '/predict',
        ...(one.image ? { image: one.image } : {}),
      };
    }
    const champion = await api<{
      version: number;
      sha256: string;
      signature: { features?: unknown[]; labels?: string[]; image?: ImageInput } | null;
    }>('registry', `/models/${encodeURIComponent(name)}/aliases/champion`);
    const image = champion.signature?.image;
    return {
      name,
      version: champion.version,
      sha256: champion.sha256,
      features: (champion.signature?.features ?? []).map(asFeature),
      labels: champion.signature?.labels ?? [],
      path: `/predict/${encodeURIComponent(name)}`,
      ...(image ? { image } : {}),
    };
  }, [name, model.data]);
  const [values, setValues] = useState<Record<string, string>>({});
  const [answer, setAnswer] = useState<ClassAnswer>();
  const [error, setError] = useState<Error>();
  const [batch, setBatch] = useState<{ url: string; name: string; rows: number } | null>(null);
  const [batchError, setBatchError] = useState<string | null>(null);
  const sig = signature.data;
  const features = sig?.features ?? [];
  const categorical = (f: (typeof features)[number]) =>
    Array.isArray(f.categories) && f.categories.length > 0;

  const toRow = (get: (name: string) => string) =>
    Object.fromEntries(features.map((f) => [f.name, categorical(f) ? get(f.name) : Number(get(f.name))]));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    try {
      setAnswer(
        await api<ClassAnswer>('inference', sig?.path ?? '/predict', {
          method: 'POST',
          json: { features: toRow((n) => values[n] ?? '') },
        }),
      );
    } catch (e) {
      setError(e as Error);
    }
  };

  const scoreFile = async (file: File | undefined) => {
    setBatch(null);
    setBatchError(null);
    if (!file) return;
    try {
      const { header, rows } = parseCsv(await file.text());
      const missing = features.map((f) => f.name).filter((n) => !header.includes(n));
      if (missing.length)
        throw new Error(`the CSV has no column ${missing.join(', ')} (its header must name every feature)`);
      const labels = sig?.labels ?? [];
      const out: string[] = [[...header, 'predicted', ...labels.map((l) => `p_${l}`)].map(csvCell).join(',')];
      for (let i = 0; i < rows.length; i += BATCH) {
        const chunk = rows.slice(i, i + BATCH);
        const instances = chunk.map((row) => toRow((n) => row[header.indexOf(n)] ?? ''));
        const scored = await api<ClassAnswer>('inference', sig?.path ?? '/predict', {
          method: 'POST',
          json: { instances },
        });
        scored.predictions.forEach((p, j) =>
          out.push(
            [...chunk[j], p.class, ...labels.map((l) => fmt(p.probabilities[l] ?? 0, 6))]
              .map(csvCell)
              .join(','),
          ),
        );
      }
      const url = URL.createObjectURL(new Blob([out.join('\n') + '\n'], { type: 'text/csv' }));
      setBatch({ url, name: file.name.replace(/\.csv$/i, '') + '-scored.csv', rows: rows.length });
    } catch (e) {
      setBatchError(e instanceof ApiError ? `${e.status}: ${e.message}` : (e as Error).message);
    }
  };

  return (
    <Page title="Predict">
      <ErrorBox error={model.error} what="read the served model" />
      <ErrorBox error={signature.error} what="read the model's signature" />
      {model.data && model.data.names.length === 0 && (
        <p className="notice">The gateway serves no model yet: train and promote one first.</p>
      )}
      {sig && (
        <>
          <div className="row">
            {(model.data?.names.length ?? 0) > 1 && (
              <div className="field">
                <label htmlFor="predict-model">Model</label>
                <select
                  id="predict-model"
                  value={name}
                  onChange={(e) => {
                    setChosen(e.target.value);
                    setAnswer(undefined);
                  }}
                >
                  {model.data!.names.map((n) => (
                    <option key={n}>{n}</option>
                  ))}
                </select>
              </div>
            )}
            <p>
              Served: <strong>{sig.name}</strong> v{sig.version} <code>{short(sig.sha256, 12)}</code>
            </p>
          </div>
          {sig.image && <ImagePredict key={sig.name} path={sig.path} image={sig.image} />}
          {!sig.image && (
            <form className="card" onSubmit={(e) => void submit(e)} aria-labelledby="one-h">
              <h2 id="one-h">One row</h2>
              <div className="row">
                {features.map((f) => (
                  <div className="field" key={f.name}>
                    <label htmlFor={`f-${f.name}`}>{f.name}</label>
                    {categorical(f) ? (
                      <select
                        id={`f-${f.name}`}
                        value={values[f.name] ?? ''}
                        onChange={(e) => setValues({ ...values, [f.name]: e.target.value })}
                      >
                        <option value="">choose…</option>
                        {f.categories!.map((c) => (
                          <option key={c}>{c}</option>
                        ))}
                      </select>
                    ) : (
                      <input
                        id={`f-${f.name}`}
                        type="number"
                        step="any"
                        required
                        value={values[f.name] ?? ''}
                        onChange={(e) => setValues({ ...values, [f.name]: e.target.value })}
                      />
                    )}
                  </div>
                ))}
                <button type="submit" disabled={!can('predict')} title={why('predict')}>
                  Predict
                </button>
              </div>
              <ErrorBox error={error} what="predict" />
              <PredictionResult answer={answer} />
            </form>
          )}
          {!sig.image && (
            <section className="card" aria-labelledby="batch-h">
              <h2 id="batch-h">Batch scoring</h2>
              <p className="muted">
                A CSV whose header names the features ({features.map((f) => f.name).join(', ')}).
              </p>
              <FileField
                id="batch-file"
                label="CSV to score"
                accept=".csv,text/csv"
                onFile={(file) => void scoreFile(file)}
              />
              {batchError && (
                <p className="error" role="alert">
                  {batchError}
                </p>
              )}
              {batch && (
                <p className="ok" role="status">
                  Scored {batch.rows} rows:{' '}
                  <a href={batch.url} download={batch.name}>
                    download {batch.name}
                  </a>
                </p>
              )}
            </section>
          )}
        </>
      )}
    </Page>
  );
}
