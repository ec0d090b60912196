/**
 * `npm run bench:model-requests`: nanoseconds per prediction request to count it in sepal_model_requests_total and
 * sepal_model_request_duration_seconds (the gateway's per-model tallies) against prom-client child handles
 * (`.labels(...)` cached per model), for 1, 20 and 1,000 models. One process, 5 M calls (500 k for prom-client),
 * third of three rounds.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { InferenceMetrics, REQUEST_BUCKETS } from '../apps/inference/src';

import { printSettings } from './settings';

const CALLS = 5_000_000;
printSettings('bench:model-requests', {}, 'counting code in this process, no server');
const metrics = new InferenceMetrics();
const registry = new Registry();
const counter = new Counter({
  name: 'bench_requests_total',
  help: 'bench',
  labelNames: ['model', 'code'],
  registers: [registry],
});
const histogram = new Histogram({
  name: 'bench_request_seconds',
  help: 'bench',
  labelNames: ['model'],
  buckets: REQUEST_BUCKETS,
  registers: [registry],
});

const nsPer = (calls: number, work: (i: number) => void): number => {
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) work(i);
  return Number(process.hrtime.bigint() - started) / calls;
};

for (const models of [1, 20, 1000]) {
  const names = Array.from({ length: models }, (_, i) => `bench-model-${models}-${i}`);
  const tallies = new Map(names.map((name) => [name, metrics.requestsOf(name)]));
  const children = new Map(
    names.map((name) => [
      name,
      { requests: counter.labels({ model: name, code: '2xx' }), duration: histogram.labels({ model: name }) },
    ]),
  );
  let tally = 0;
  let child = 0;
  for (let round = 0; round < 3; round++) {
    tally = nsPer(CALLS, (i) => tallies.get(names[i % models])!.record(200, 0.0007));
    child = nsPer(CALLS / 10, (i) => {
      const handles = children.get(names[i % models])!;
      handles.requests.inc();
      handles.duration.observe(0.0007);
    });
  }
  console.log(
    `${models} model(s): tally ${tally.toFixed(1)} ns/request, prom-client child handles ${child.toFixed(0)} ns/request`,
  );
}
