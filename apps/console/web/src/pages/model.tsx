import { FormEvent, useState } from 'react';
import { api, ApiError, enc } from '../api';
import { useKey } from '../auth';
import { useLoad } from '../hooks';
import { Link } from '../router';
import type { AuditEntry, LineageView, ModelView } from '../types';
import { ErrorBox, fmt, Outcome, type OutcomeMessage, Page, short, TableHead, TextField, when } from '../ui';

/** version → run → sweep → dataset version, as boxes and arrows. */
function LineageGraph({ lineage }: { lineage: LineageView }) {
  const nodes = [
    {
      title: `${lineage.model} v${lineage.version}`,
      detail: `sha256 ${short(lineage.sha256, 12)}`,
      to: undefined,
    },
    lineage.run && {
      title: `run ${lineage.run.name ?? short(lineage.run.id)}`,
      detail: Object.entries(lineage.run.params)
        .slice(0, 3)
        .map(([k, v]) => `${k}=${fmt(v)}`)
        .join(' '),
      to: `/runs/${lineage.run.id}`,
    },
    lineage.parentRun && {
      title: `sweep ${lineage.parentRun.name ?? short(lineage.parentRun.id)}`,
      detail: `${lineage.parentRun.childrenCount} trials`,
      to: `/runs/${lineage.parentRun.id}`,
    },
    lineage.datasetVersion && {
      title: `dataset ${lineage.dataset ?? ''}`,
      detail: `version ${short(lineage.datasetVersion, 12)}`,
      to: lineage.dataset ? `/datasets/${enc(lineage.dataset)}` : undefined,
    },
  ].filter(Boolean) as { title: string; detail: string; to?: string }[];
  const w = 210;
  const gap = 50;
  const width = nodes.length * w + (nodes.length - 1) * gap + 10;
  return (
    <svg className="lineage" width={width} height={80} aria-labelledby="lineage-title">
      <title id="lineage-title">{`Lineage: ${nodes.map((n) => `${n.title} (${n.detail})`).join(' from ')}`}</title>
      <defs>
        <marker id="arrow" markerWidth="10" markerHeight="10" refX="9" refY="5" orient="auto">
          <path d="M0,0 L10,5 L0,10 z" fill="#1e40af" />
        </marker>
      </defs>
      {nodes.map((node, i) => {
        const x = 5 + i * (w + gap);
        const box = (
          <g key={i}>
            <rect x={x} y={10} width={w} height={56} rx={6} />
            <text x={x + 10} y={33} fontWeight={600}>
              {node.title.slice(0, 30)}
            </text>
            <text x={x + 10} y={53}>
              {node.detail.slice(0, 32)}
            </text>
            {i < nodes.length - 1 && (
              <line
                x1={x + w}
                y1={38}
                x2={x + w + gap - 2}
                y2={38}
                stroke="#1e40af"
                strokeWidth={2}
                markerEnd="url(#arrow)"
              />
            )}
          </g>
        );
        return node.to ? (
          <a key={i} href={node.to}>
            {box}
          </a>
        ) : (
          box
        );
      })}
    </svg>
  );
}

function Promote({ model, onDone }: { model: ModelView; onDone: () => void }) {
  const { can, why } = useKey();
  const [version, setVersion] = useState(String(model.versions.at(-1)?.version ?? ''));
  const [alias, setAlias] = useState('champion');
  const [reason, setReason] = useState('');
  const [message, setMessage] = useState<OutcomeMessage | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setMessage(null);
    try {
      const move = await api<{ version: number; previousVersion: number | null }>(
        'registry',
        `/models/${enc(model.name)}/aliases/${enc(alias)}`,
        {
          method: 'PUT',
          // The audit log records the calling key's name as who did it.
          json: { version: Number(version), reason: reason.trim() },
        },
      );
      setMessage({
        ok: true,
        text: `${alias} → v${move.version} (was ${move.previousVersion ? `v${move.previousVersion}` : 'unset'}).`,
      });
      setReason('');
      onDone();
    } catch (error) {
      setMessage({ ok: false, text: `Refused (${(error as ApiError).status}): ${(error as Error).message}` });
    }
  };
  const disabled = !can('promote');
  return (
    <form className="card" onSubmit={(e) => void submit(e)} aria-labelledby="promote-h">
      <h2 id="promote-h">Promote or roll back</h2>
      <div className="row">
        <div className="field">
          <label htmlFor="promote-version">Version</label>
          <select id="promote-version" value={version} onChange={(e) => setVersion(e.target.value)}>
            {model.versions.map((v) => (
              <option key={v.version} value={v.version}>
                v{v.version}
                {Object.entries(model.aliases)
                  .filter(([, n]) => n === v.version)
                  .map(([a]) => ` (${a})`)
                  .join('')}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="promote-alias">Alias</label>
          <select id="promote-alias" value={alias} onChange={(e) => setAlias(e.target.value)}>
            <option>champion</option>
            <option>challenger</option>
          </select>
        </div>
        <div className="field" style={{ flex: 1, minWidth: 260 }}>
          <label htmlFor="promote-reason">Reason (recorded in the audit log)</label>
          <input id="promote-reason" required value={reason} onChange={(e) => setReason(e.target.value)} />
        </div>
        <button type="submit" disabled={disabled || !reason.trim()} title={why('promote')}>
          Move {alias} to v{version}
        </button>
      </div>
      {disabled && <p className="muted">Your key does not have the promote scope.</p>}
      <Outcome message={message} />
    </form>
  );
}

interface GatewayModel {
  name: string;
  served: boolean;
  champion: { version: number } | null;
  problem: string | null;
  traffic: { version: number; weight: number }[] | null;
  shadow: number | null;
}

interface TrafficSplit {
  weights: { version: number; weight: number }[];
  shadow: { version: number } | null;
  reason: string;
  changedBy: string;
  changedAt: string;
}

/**
 * The registry's traffic split of a model (canary weights summing to 100, a shadow version), where it has one
 * (GET/PUT /models/{name}/traffic); absent otherwise.
 */
function Traffic({ model }: { model: ModelView }) {
  const { can, why } = useKey();
  const path = `/models/${enc(model.name)}/traffic`;
  const split = useLoad(async () => {
    try {
      return { split: await api<TrafficSplit>('registry', path, { quiet: true }), available: true };
    } catch (error) {
      const e = error as ApiError;
      // Nest's "Cannot GET ..." is a route this registry does not have; another 404 is "no split set".
      const available = e.status === 404 && !/^Cannot GET/.test(e.message);
      return { split: null, available };
    }
  }, [model.name]);
  const [weights, setWeights] = useState('');
  const [shadow, setShadow] = useState('');
  const [reason, setReason] = useState('');
  const [message, setMessage] = useState<OutcomeMessage | null>(null);
  if (!split.data?.available) return null;
  const current = split.data.split;
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setMessage(null);
    const parsed: Record<string, number> = {};
    for (const part of weights
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const [version, weight] = part
        .replace(/^v/, '')
        .split(':')
        .map((x) => x.trim());
      parsed[version] = Number(weight);
    }
    try {
      await api('registry', path, {
        method: 'PUT',
        json: {
          weights: parsed,
          shadow: shadow ? Number(shadow) : null,
          reason: reason.trim(),
        },
      });
      setMessage({ ok: true, text: 'Traffic split changed.' });
      split.reload();
    } catch (error) {
      setMessage({ ok: false, text: `Refused (${(error as ApiError).status}): ${(error as Error).message}` });
    }
  };
  return (
    <form className="card" onSubmit={(e) => void submit(e)} aria-labelledby="traffic-h">
      <h2 id="traffic-h">Traffic split and shadow</h2>
      <p>
        {current
          ? `Now: ${current.weights.map((w) => `v${w.version} ${w.weight}%`).join(' / ')}${current.shadow ? `, shadow v${current.shadow.version}` : ''} (by ${current.changedBy}, ${when(current.changedAt)})`
          : 'No split: the champion takes every request.'}
      </p>
      <div className="row">
        <TextField
          id="traffic-weights"
          label="Weights (version:percent, summing to 100)"
          value={weights}
          onChange={setWeights}
          placeholder="1:90, 2:10"
        />
        <TextField
          id="traffic-shadow"
          label="Shadow version (optional)"
          type="number"
          min={1}
          value={shadow}
          onChange={setShadow}
        />
        <TextField
          id="traffic-reason"
          label="Reason"
          value={reason}
          onChange={setReason}
          style={{ flex: 1, minWidth: 200 }}
        />
        <button type="submit" disabled={!can('promote') || !weights.trim()} title={why('promote')}>
          Set split
        </button>
      </div>
      <Outcome message={message} />
    </form>
  );
}

export function ModelPage({ name }: { name: string }) {
  const model = useLoad(() => api<ModelView>('registry', `/models/${enc(name)}`), [name]);
  const audit = useLoad(() => api<AuditEntry[]>('registry', `/models/${enc(name)}/audit`), [name]);
  const [selected, setSelected] = useState<number | null>(null);
  const m = model.data;
  const shown = selected ?? m?.aliases.champion ?? m?.versions.at(-1)?.version ?? null;
  const lineage = useLoad(
    () =>
      shown
        ? api<LineageView>('registry', `/models/${enc(name)}/versions/${shown}/lineage`)
        : Promise.resolve(undefined),
    [name, shown],
  );
  const rank = (k: string) =>
    k === 'test_accuracy' ? 0 : k.startsWith('test_') ? 1 : k.includes('val_accuracy') ? 2 : 3;
  // Where the gateway serves several models (GET /models): what it serves of this one, its traffic split and shadow.
  const gateway = useLoad(async () => {
    try {
      const list = await api<GatewayModel[]>('inference', '/models', { quiet: true });
      return Array.isArray(list) ? (list.find((g) => g.name === name) ?? null) : null;
    } catch {
      return null;
    }
  }, [name]);
  const metricKeys = [...new Set((m?.versions ?? []).flatMap((v) => Object.keys(v.metrics)))]
    .filter((k) => !/parity|selected_trial/.test(k))
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
    .slice(0, 5);
  const reload = () => {
    model.reload();
    audit.reload();
  };
  return (
    <Page title={`Model ${name}`}>
      <ErrorBox error={model.error} what="load the model" />
      {m && (
        <>
          <p>
            <Link to={`/models/${enc(name)}/predictions`}>Prediction log</Link> ·{' '}
            <Link to={`/models/${enc(name)}/monitoring`}>Live quality and drift</Link>
          </p>
          <p>
            Aliases:{' '}
            {Object.entries(m.aliases)
              .map(([a, v]) => `${a} → v${v}`)
              .join(', ') || 'none'}
          </p>
          {gateway.data && (
            <p>
              Gateway:{' '}
              {gateway.data.served && gateway.data.champion
                ? `serving v${gateway.data.champion.version}`
                : `not serving (${gateway.data.problem ?? 'no champion'})`}
              {gateway.data.traffic
                ? `; traffic split ${gateway.data.traffic.map((t) => `v${t.version} ${t.weight}%`).join(' / ')}`
                : ''}
              {gateway.data.shadow ? `; shadow v${gateway.data.shadow}` : ''}
            </p>
          )}
          <h2>Versions</h2>
          <table>
            <thead>
              <tr>
                <th>Version</th>
                <th>Aliases</th>
                <th>Run</th>
                {metricKeys.map((k) => (
                  <th key={k} className="num">
                    {k}
                  </th>
                ))}
                <th>Created</th>
                <th>Lineage</th>
              </tr>
            </thead>
            <tbody>
              {[...m.versions].reverse().map((v) => (
                <tr key={v.version} aria-current={v.version === shown ? 'true' : undefined}>
                  <td>v{v.version}</td>
                  <td>
                    {Object.entries(m.aliases)
                      .filter(([, n]) => n === v.version)
                      .map(([a]) => a)
                      .join(', ') || '—'}
                  </td>
                  <td>{v.runId ? <Link to={`/runs/${v.runId}`}>{short(v.runId)}</Link> : '—'}</td>
                  {metricKeys.map((k) => (
                    <td key={k} className="num">
                      {fmt(v.metrics[k])}
                    </td>
                  ))}
                  <td>{when(v.createdAt)}</td>
                  <td>
                    <button type="button" className="secondary small" onClick={() => setSelected(v.version)}>
                      Show<span className="sr-only"> lineage of v{v.version}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Lineage of v{shown}</h2>
          <ErrorBox error={lineage.error} what="load the lineage" />
          {lineage.data && <LineageGraph lineage={lineage.data} />}
          <Promote model={m} onDone={reload} />
          <Traffic model={m} />
        </>
      )}
      <h2>Audit log</h2>
      <ErrorBox error={audit.error} what="load the audit log" />
      <table aria-label="Audit log">
        <TableHead columns={['When', 'Alias', 'From', 'To', 'By', 'Reason']} />
        <tbody>
          {[...(audit.data ?? [])].reverse().map((e) => (
            <tr key={e.id}>
              <td>{when(e.at)}</td>
              <td>{e.alias}</td>
              <td>{e.fromVersion ? `v${e.fromVersion}` : '—'}</td>
              <td>v{e.toVersion}</td>
              <td>{e.by}</td>
              <td>{e.reason || '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}
