import type { ServedModel } from './served-model';

/** One entry of POST /v2/repository/index. */
export interface RepositoryEntry {
  name: string;
  version: string;
  state: 'READY' | 'UNAVAILABLE';
  reason: string;
}

/** The model repository index (OIP): every model's served versions and their state. */
export function repositoryIndex(models: Iterable<ServedModel>): RepositoryEntry[] {
  const index: RepositoryEntry[] = [];
  for (const entry of models) {
    const champion = entry.champion.model;
    if (champion)
      index.push({
        name: entry.name,
        version: String(champion.info.version),
        state: 'READY',
        reason: 'champion',
      });
    else index.push({ name: entry.name, version: '', state: 'UNAVAILABLE', reason: entry.problem });
    for (const [version] of entry.others) {
      const role =
        entry.shadow?.info.version === version
          ? 'shadow'
          : entry.pinned.has(version)
            ? 'canary'
            : 'loaded on demand';
      index.push({ name: entry.name, version: String(version), state: 'READY', reason: role });
    }
  }
  return index;
}
