import { DatasetVersionView } from '@sepal/contracts';
import { VersionRecord } from './dataset-versions.repository';

/** The REST view of a version: what the contract names (not the stored digest sum and stats). */
export function versionView(version: VersionRecord): DatasetVersionView {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { contentSum, stats, ...view } = version;
  return view;
}
