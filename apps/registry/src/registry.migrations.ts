import { CreateRegistrySchema1732500000000 } from './migrations/1732500000000-create-registry-schema';
import { CreateJobs1733100000000 } from './migrations/1733100000000-create-jobs';
import { ModelGates1733500000000 } from './migrations/1733500000000-model-gates';
import { CreateApiKeys1733700000000 } from './migrations/1733700000000-create-api-keys';
import { CreateTrafficSplits1734400000000 } from './migrations/1734400000000-create-traffic-splits';
import { EarlyRunEvents1734500000000 } from './migrations/1734500000000-early-run-events';
import { TrafficRevision1765100000000 } from './migrations/1765100000000-traffic-revision';
import { ArtifactUploader1765100001000 } from './migrations/1765100001000-artifact-uploader';
import { BatchJobs1766200000000 } from './migrations/1766200000000-batch-jobs';

/** The registry's migrations, oldest first (run by the app and by `sepal keys create --admin`). */
export const REGISTRY_MIGRATIONS = [
  CreateRegistrySchema1732500000000,
  CreateJobs1733100000000,
  ModelGates1733500000000,
  CreateApiKeys1733700000000,
  CreateTrafficSplits1734400000000,
  EarlyRunEvents1734500000000,
  TrafficRevision1765100000000,
  ArtifactUploader1765100001000,
  BatchJobs1766200000000,
];
