import { api } from '../api';
import { useLoad } from '../hooks';
import { Link } from '../router';
import type { ModelSummaryView } from '../types';
import { ErrorBox, Page, TableHead } from '../ui';

export function Models() {
  const models = useLoad(() => api<{ models: ModelSummaryView[] }>('registry', '/models?limit=1000'), []);
  return (
    <Page title="Models">
      <ErrorBox error={models.error} what="list the models" />
      <table>
        <TableHead columns={['Model', { num: 'Latest version' }, 'Aliases']} />
        <tbody>
          {(models.data?.models ?? []).map((m) => (
            <tr key={m.name}>
              <td>
                <Link to={`/models/${encodeURIComponent(m.name)}`}>{m.name}</Link>
              </td>
              <td className="num">{m.latestVersion ? `v${m.latestVersion}` : '—'}</td>
              <td>
                {Object.entries(m.aliases)
                  .map(([a, v]) => `${a}: v${v}`)
                  .join(', ') || '—'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}
