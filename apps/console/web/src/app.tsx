import { lazy, ReactNode, Suspense, useEffect } from 'react';
import { KeyProvider, useKey } from './auth';
import { Link, useLocation } from './router';
import { Overview } from './pages/overview';

// The overview is in the first chunk (fast first load); every other page loads when opened.
const Datasets = lazy(() => import('./pages/datasets').then((m) => ({ default: m.Datasets })));
const Runs = lazy(() => import('./pages/runs').then((m) => ({ default: m.Runs })));
const RunPage = lazy(() => import('./pages/run').then((m) => ({ default: m.RunPage })));
const Compare = lazy(() => import('./pages/compare').then((m) => ({ default: m.Compare })));
const Models = lazy(() => import('./pages/models').then((m) => ({ default: m.Models })));
const ModelPage = lazy(() => import('./pages/model').then((m) => ({ default: m.ModelPage })));
const PredictionLog = lazy(() => import('./pages/predictions').then((m) => ({ default: m.PredictionLog })));
const Monitoring = lazy(() => import('./pages/monitoring').then((m) => ({ default: m.Monitoring })));
const Jobs = lazy(() => import('./pages/jobs').then((m) => ({ default: m.Jobs })));
const Batch = lazy(() => import('./pages/batch').then((m) => ({ default: m.Batch })));
const Predict = lazy(() => import('./pages/predict').then((m) => ({ default: m.Predict })));

const NAV = [
  ['/', 'Overview'],
  ['/datasets', 'Datasets'],
  ['/runs', 'Runs'],
  ['/models', 'Models'],
  ['/jobs', 'Jobs'],
  ['/batch', 'Batch'],
  ['/predict', 'Predict'],
] as const;

function route(path: string, query: URLSearchParams) {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case undefined:
      return { title: 'Overview', page: <Overview /> };
    case 'datasets':
      return { title: 'Datasets', page: <Datasets name={parts[1]} /> };
    case 'runs':
      if (parts[1] === 'compare') {
        const ids = (query.get('ids') ?? '').split(',').filter(Boolean);
        return { title: 'Compare runs', page: <Compare ids={ids} /> };
      }
      return parts[1] ? { title: 'Run', page: <RunPage id={parts[1]} /> } : { title: 'Runs', page: <Runs /> };
    case 'models':
      if (parts[1] && parts[2] === 'predictions')
        return { title: `Prediction log of ${parts[1]}`, page: <PredictionLog name={parts[1]} /> };
      if (parts[1] && parts[2] === 'monitoring')
        return { title: `Monitoring ${parts[1]}`, page: <Monitoring name={parts[1]} /> };
      return parts[1]
        ? { title: `Model ${parts[1]}`, page: <ModelPage name={parts[1]} /> }
        : { title: 'Models', page: <Models /> };
    case 'jobs':
      return { title: 'Jobs', page: <Jobs /> };
    case 'batch':
      return { title: 'Batch scoring', page: <Batch /> };
    case 'predict':
      return { title: 'Predict', page: <Predict /> };
    default:
      return { title: 'Not found', page: <p>No page at {path}.</p> };
  }
}

function KeyButton() {
  const { key, keyName, scopes, prompt, forget } = useKey();
  if (!key) {
    return (
      <button type="button" className="secondary small" onClick={prompt}>
        Set API key
      </button>
    );
  }
  return (
    <span className="key">
      <span className="muted">
        key{keyName ? ` ${keyName}` : ''}
        {scopes ? `: ${scopes.join(', ') || 'no scopes'}` : ''}
      </span>
      <button type="button" className="secondary small" onClick={forget}>
        Forget key
      </button>
    </span>
  );
}

/** The page remounts (and loads again) when the key changes, e.g. after the key prompt. */
function Main({ children }: { children: ReactNode }) {
  const { key } = useKey();
  return <main key={key ?? 'no key'}>{children}</main>;
}

export function App() {
  const location = useLocation();
  const { title, page } = route(location.pathname, location.searchParams);
  useEffect(() => {
    document.title = `${title} · Sepal console`;
  }, [title]);
  const section = `/${location.pathname.split('/')[1] ?? ''}`;
  return (
    <KeyProvider>
      <header className="top">
        <Link to="/" className="brand">
          Sepal
        </Link>
        <nav aria-label="Main">
          {NAV.map(([to, label]) => (
            <Link key={to} to={to} aria-current={section === to ? 'page' : undefined}>
              {label}
            </Link>
          ))}
        </nav>
        <KeyButton />
      </header>
      <Main>
        <Suspense fallback={<p className="muted">Loading…</p>}>{page}</Suspense>
      </Main>
    </KeyProvider>
  );
}
