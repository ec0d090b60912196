import type { INestApplication } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import fc from 'fast-check';
import type { z } from 'zod';
import { TRAINING_PARAM_NAMES } from '@sepal/ml';
import {
  createExperimentRequestSchema,
  createKeyRequestSchema,
  createModelRequestSchema,
  createModelVersionRequestSchema,
  createRunRequestSchema,
  diffQuerySchema,
  evaluationRowsQuerySchema,
  evaluationSetRequestSchema,
  feedbackListQuerySchema,
  predictionLogExportQuerySchema,
  predictionLogQuerySchema,
  feedbackRequestSchema,
  importDatasetRequestSchema,
  imagePageQuerySchema,
  imageSamplesQuerySchema,
  importQuerySchema,
  predictionExportRequestSchema,
  liveQualityQuerySchema,
  driftQuerySchema,
  jobActionQuerySchema,
  jobListQuerySchema,
  logMetricsRequestSchema,
  oipInferRequestSchema,
  pagingQuerySchema,
  predictRequestSchema,
  rowsQuerySchema,
  searchRunsQuerySchema,
  setAliasRequestSchema,
  setModelGateRequestSchema,
  setTrafficRequestSchema,
  splitQuerySchema,
  trainRequestSchema,
  updateRunRequestSchema,
  verifyKeyRequestSchema,
} from '@sepal/contracts';

export type AppName = 'data' | 'registry' | 'trainer' | 'inference';

/** One route of one app, as Nest registered it (e.g. `PUT /models/:name/aliases/:alias`). */
export interface Route {
  app: AppName;
  method: string;
  path: string;
}

export const routeKey = (route: Route) => `${route.app} ${route.method} ${route.path}`;

/** What the fuzzer knows about a route: the contract schemas of its body and query, and realistic valid bodies. */
export interface RouteSpec {
  body?: z.ZodType;
  /** A raw (non-JSON) body, e.g. an artifact upload. */
  rawBody?: true;
  /** A CSV upload (text/csv), as the data import takes it. */
  csv?: true;
  /** Realistic query strings, beside those generated from `query`. */
  realisticQuery?: fc.Arbitrary<string>;
  query?: z.ZodType;
  /** Valid bodies that reach past validation into the services (the schema alone rarely names a real feature). */
  realistic?: (world: World) => fc.Arbitrary<unknown>;
}

/** What the stack holds once set up: the names and ids that make a request reach real rows. */
export interface World {
  dataset: string;
  features: string[];
  labels: string[];
  modelName: string;
  modelSha256: string;
  runIds: string[];
  versions: number[];
}

const irisRow = (world: World) =>
  fc.array(fc.double({ min: 0, max: 10, noNaN: true }), {
    minLength: world.features.length,
    maxLength: world.features.length,
  });
const namedRow = (world: World) =>
  irisRow(world).map((values) => Object.fromEntries(world.features.map((name, i) => [name, values[i]])));
const anyRow = (world: World) => fc.oneof(irisRow(world), namedRow(world));

const predictBody = (world: World) =>
  fc.oneof(
    fc.record({ features: anyRow(world) }),
    fc.record({ instances: fc.array(anyRow(world), { minLength: 1, maxLength: 4 }) }),
  );

const feedbackBody = (world: World) =>
  fc.record({ features: anyRow(world), label: fc.constantFrom(...world.labels) });

/** An OIP infer body with the right shape for the model: 1 to 3 rows of the dataset's features. */
const inferBody = (world: World) =>
  fc.integer({ min: 1, max: 3 }).chain((rows) =>
    fc.record({
      inputs: fc.tuple(
        fc.record({
          // The served model's input is 'features'; another name is refused before anything else is looked at.
          name: fc.constantFrom('features', 'features', 'features', 'input'),
          shape: fc.constant([rows, world.features.length]),
          datatype: fc.constantFrom('FP32', 'FP64', 'INT64', 'BYTES', 'BOOL'),
          data: fc.array(fc.double({ min: 0, max: 10, noNaN: true }), {
            minLength: rows * world.features.length,
            maxLength: rows * world.features.length,
          }),
        }),
      ),
    }),
  );

/**
 * A traffic split over the model's versions (mostly real ones, summing to 100), sometimes naming an unknown, zero or
 * out-of-range version, weights that do not sum to 100, or a shadow that is a real, unknown or huge version.
 */
const trafficBody = (world: World) => {
  const version = fc.constantFrom(...world.versions, ...world.versions, 0, 999_999, 2 ** 31, 999_999_999);
  const versionKeyText = fc.oneof(
    { weight: 6, arbitrary: version.map(String) },
    { weight: 1, arbitrary: fc.constantFrom('01', '-1', '1.5', '1e3', ' 1', '', 'champion', '9999999999') },
  );
  const summing = fc
    .tuple(fc.shuffledSubarray(world.versions, { minLength: 1 }), fc.integer({ min: 0, max: 100 }))
    .map(([versions, first]) =>
      Object.fromEntries(
        versions.map((v, i) => [String(v), versions.length === 1 ? 100 : i === 0 ? first : 100 - first]),
      ),
    );
  const anyWeights = fc.dictionary(versionKeyText, fc.integer({ min: -5, max: 105 }), {
    minKeys: 0,
    maxKeys: 12,
  });
  return fc.record(
    {
      weights: fc.oneof({ weight: 3, arbitrary: summing }, { weight: 1, arbitrary: anyWeights }),
      shadow: fc.oneof(version, fc.constant(null)),
      reason: fc.string({ maxLength: 30 }),
    },
    { requiredKeys: ['weights'] },
  );
};

/** Every route the apps serve today, keyed by `routeKey`. A route missing here is still fuzzed, generically. */
export const ROUTE_SPECS: Record<string, RouteSpec> = {
  // data
  'data GET /datasets': {},
  'data POST /datasets/:name/import': {
    csv: true,
    query: importQuerySchema,
    realisticQuery: fc
      .tuple(
        fc.constantFrom('label', 'f0', 'missing'),
        fc.constantFrom('classification', 'regression'),
        fc.constantFrom(
          '',
          '&dryRun=true',
          '&newSchema=true',
          '&header=false',
          '&delimiter=tab',
          '&categorical=f0',
        ),
      )
      .map(([target, task, extra]) => `target=${target}&task=${task}${extra}`),
    body: importDatasetRequestSchema,
    realistic: () =>
      fc.oneof(
        fc.constant({}),
        fc.record({ content: fc.constantFrom('a,b\n1,2\n', '5.1,3.5,1.4,0.2,Iris-setosa\n', '', '\n\n') }),
      ),
  },
  'data GET /datasets/:name/versions': {},
  'data GET /datasets/:name/versions/:ref': {},
  'data GET /datasets/:name/versions/:ref/rows': { query: rowsQuerySchema },
  'data GET /datasets/:name/versions/:ref/export.csv': { query: splitQuerySchema },
  'data GET /datasets/:name/diff': { query: diffQuerySchema },
  'data POST /datasets/:name/feedback': {
    body: feedbackRequestSchema,
    realistic: (world) =>
      fc.record({ features: anyRow(world), label: fc.constantFrom(...world.labels) }, { requiredKeys: [] }),
  },
  'data GET /datasets/:name/feedback': { query: feedbackListQuerySchema },
  'data POST /datasets/:name/feedback/commit': {},
  'data POST /datasets/:name/evaluation-sets/:model': { body: evaluationSetRequestSchema },
  'data GET /datasets/:name/evaluation-sets/:model': {},
  'data GET /datasets/:name/evaluation-sets/:model/rows': { query: evaluationRowsQuerySchema },
  'data GET /predictions': { query: predictionLogQuerySchema },
  'data GET /predictions/export.csv': { query: predictionLogExportQuerySchema },
  'data POST /predictions/export': { body: predictionExportRequestSchema },
  'data GET /predictions/quality': { query: liveQualityQuerySchema },
  // registry
  'registry POST /experiments': { body: createExperimentRequestSchema },
  'registry GET /experiments': { query: pagingQuerySchema },
  'registry GET /experiments/:idOrName': {},
  'registry POST /runs': { body: createRunRequestSchema },
  'registry GET /runs': {
    query: searchRunsQuerySchema,
  },
  'registry GET /runs/:id': {},
  'registry PATCH /runs/:id': { body: updateRunRequestSchema },
  'registry POST /runs/:id/metrics': { body: logMetricsRequestSchema },
  'registry GET /runs/:id/metrics/:key': {},
  'registry POST /artifacts': { rawBody: true },
  'registry GET /artifacts/:sha256': {},
  'registry POST /models': { body: createModelRequestSchema },
  'registry GET /models': { query: pagingQuerySchema },
  'registry GET /models/:name': {},
  'registry POST /models/:name/versions': {
    body: createModelVersionRequestSchema,
    realistic: (world) =>
      fc.record({ runId: fc.constantFrom(...world.runIds), sha256: fc.constant(world.modelSha256) }),
  },
  'registry GET /models/:name/versions/:version': {},
  'registry GET /models/:name/versions/:version/lineage': {},
  'registry GET /models/:name/aliases/:alias': {},
  'registry PUT /models/:name/aliases/:alias': {
    body: setAliasRequestSchema,
    realistic: (world) =>
      fc.record(
        { version: fc.constantFrom(...world.versions, 0, -1, 999_999), reason: fc.string({ maxLength: 30 }) },
        { requiredKeys: ['version'] },
      ),
  },
  'registry GET /models/:name/audit': {},
  'registry GET /models/:name/gate': {},
  'registry PUT /models/:name/gate': { body: setModelGateRequestSchema },
  'registry GET /models/:name/gate/history': {},
  // A split moves no alias and writes no model audit entry (it has its own log), so accepted ones need no counting.
  'registry PUT /models/:name/traffic': { body: setTrafficRequestSchema, realistic: trafficBody },
  'registry GET /models/:name/traffic': {},
  'registry GET /models/:name/traffic/audit': {},
  'registry POST /keys': { body: createKeyRequestSchema },
  'registry GET /keys': {},
  'registry GET /keys/self': {},
  // Never the suite's own key (named admin): revoking it would leave the rest of the run unauthorised.
  'registry DELETE /keys/:name': {},
  'registry POST /keys/verify': { body: verifyKeyRequestSchema },
  'data GET /datasets/:name/audit': {},
  'data POST /datasets/:name/images/import': { rawBody: true },
  'data GET /datasets/:name/versions/:ref/images': { query: imagePageQuerySchema },
  'data GET /datasets/:name/versions/:ref/samples': { query: imageSamplesQuerySchema },
  'data GET /datasets/:name/images/:hash': {},
  'registry GET /jobs': { query: jobListQuerySchema },
  'registry GET /jobs/:id': {},
  'registry DELETE /jobs/:id': { query: jobActionQuerySchema },
  'registry POST /jobs/:id/retry': { query: jobActionQuerySchema },
  // trainer
  'trainer POST /train': {
    body: trainRequestSchema,
    // Real parameter names with small, odd or out-of-limit values: most are refused, the rest train a few epochs.
    realistic: (world) => {
      const value = fc.oneof(
        fc.integer({ min: -2, max: 4 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.constantFrom(1e9, 2 ** 31, 1.5, 'relu', '', true),
      );
      const names = fc.constantFrom(...TRAINING_PARAM_NAMES);
      return fc.record(
        {
          dataset: fc.constantFrom(world.dataset, world.dataset, 'unknown'),
          version: fc.constantFrom('latest', 'v1', 'v999999999999', 'zzzzzz'),
          params: fc.dictionary(names, value, { maxKeys: 3 }),
          grid: fc.dictionary(names, fc.array(value, { maxLength: 2 }), { maxKeys: 2 }),
          seed: fc.integer(),
        },
        { requiredKeys: ['dataset'] },
      );
    },
  },
  'trainer GET /jobs/:id': {},
  // inference
  'inference POST /predict': { body: predictRequestSchema, realistic: predictBody },
  'inference POST /predict/:model': { body: predictRequestSchema, realistic: predictBody },
  'inference POST /feedback': { body: feedbackRequestSchema, realistic: feedbackBody },
  'inference POST /feedback/:model': { body: feedbackRequestSchema, realistic: feedbackBody },
  'inference POST /admin/reload': {},
  'inference POST /admin/reload/:model': {},
  'inference GET /models': {},
  'inference GET /model': {},
  'inference GET /models/:name/drift': { query: driftQuerySchema },
  'inference GET /v2': {},
  'inference GET /v2/health/live': {},
  'inference GET /v2/health/ready': {},
  'inference GET /v2/models/:name': {},
  'inference GET /v2/models/:name/ready': {},
  'inference POST /v2/models/:name/infer': { body: oipInferRequestSchema, realistic: inferBody },
  'inference GET /v2/models/:name/versions/:version': {},
  'inference POST /v2/models/:name/versions/:version/infer': {
    body: oipInferRequestSchema,
    realistic: inferBody,
  },
  // No contract schema: the controller takes nothing, null or {"ready": boolean}.
  'inference POST /v2/repository/index': {
    realistic: () => fc.oneof(fc.constant(null), fc.record({ ready: fc.boolean() }, { requiredKeys: [] })),
  },
};

/** Health, readiness and metrics are served by every app (libs/observability); they take no input. */
const COMMON_PATHS = /^\/(health(\/|$)|metrics$)/;

export function specOf(route: Route): RouteSpec | undefined {
  if (COMMON_PATHS.test(route.path)) return {};
  return ROUTE_SPECS[routeKey(route)];
}

/** Every route of an app, read from Nest's controllers (so a new endpoint is fuzzed without being listed). */
export function routesOf(app: AppName, nest: INestApplication): Route[] {
  const routes: Route[] = [];
  for (const module of nest.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const type = wrapper.metatype as (new (...args: never[]) => object) | undefined;
      if (!type?.prototype) continue;
      const prefixes = asArray(Reflect.getMetadata(PATH_METADATA, type) as string | string[] | undefined);
      for (const name of Object.getOwnPropertyNames(type.prototype)) {
        const handler = (type.prototype as Record<string, unknown>)[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const paths = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (paths === undefined || method === undefined) continue;
        for (const prefix of prefixes.length ? prefixes : ['']) {
          for (const path of asArray(paths)) {
            routes.push({ app, method: RequestMethod[method], path: joinPath(prefix, path) });
          }
        }
      }
    }
  }
  const unique = new Map(routes.map((route) => [routeKey(route), route]));
  return [...unique.values()];
}

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

function joinPath(prefix: string, path: string): string {
  const joined = `/${[prefix, path]
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .filter(Boolean)
    .join('/')}`;
  return joined;
}
