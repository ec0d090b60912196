/*
 * Stores the OpenAPI schema of custom resources Sepal's manifests use but no kubernetes-models package covers
 * (RabbitMQ Cluster and Messaging Topology operators, CloudNativePG), from their CustomResourceDefinitions, for
 * test/deployment/kubernetes.test.ts to validate against:
 *
 *   node dist/scripts/kubernetes/vendor-crd-schemas.js <source> <crd.yaml>...
 *
 * <source> records where the files came from (e.g. rabbitmq/cluster-operator@<commit>). The schema of the storage
 * version is kept, descriptions dropped (they are most of a CRD's size).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const CRD_SCHEMAS_DIR = 'test/deployment/crd-schemas';

interface CrdVersion {
  name: string;
  storage?: boolean;
  schema?: { openAPIV3Schema: unknown };
}
interface Crd {
  kind: string;
  spec: { group: string; names: { kind: string }; versions: CrdVersion[] };
}

function withoutDescriptions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDescriptions);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => key !== 'description')
        .map(([key, inner]) => [key, withoutDescriptions(inner)]),
    );
  }
  return value;
}

function main(argv: string[]): void {
  const [source, ...files] = argv;
  if (!source || files.length === 0) throw new Error('usage: vendor-crd-schemas <source> <crd.yaml>...');
  mkdirSync(CRD_SCHEMAS_DIR, { recursive: true });
  for (const file of files) {
    for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const crd = document.toJS() as Crd;
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      const version = crd.spec.versions.find((v) => v.storage) ?? crd.spec.versions[0];
      const apiVersion = `${crd.spec.group}/${version.name}`;
      const out = join(CRD_SCHEMAS_DIR, `${crd.spec.group}_${crd.spec.names.kind}.json`);
      const schema = withoutDescriptions(version.schema?.openAPIV3Schema);
      writeFileSync(
        out,
        `${JSON.stringify({ apiVersion, kind: crd.spec.names.kind, source: `${source}:${basename(file)}`, schema })}\n`,
      );
      process.stdout.write(`wrote ${out} (${apiVersion} ${crd.spec.names.kind})\n`);
    }
  }
}

main(process.argv.slice(2));
