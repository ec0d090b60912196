import {
  Counter,
  CounterConfiguration,
  Gauge,
  GaugeConfiguration,
  Histogram,
  HistogramConfiguration,
} from 'prom-client';

/*
 * A metric belongs to the app that counts it: these make it unregistered, and the injectable that owns it adds it to
 * the app's AppMetricsRegistry (`registry.addMetricsOf(this)`), which the app's `/metrics` serves. Nothing lands in
 * prom-client's process-wide registry, so two apps (or two instances of one app) in one process never count into
 * each other.
 */
export function counter<L extends string>(config: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
  return new Counter({ ...config, registers: [] });
}

export function gauge<L extends string>(config: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
  return new Gauge({ ...config, registers: [] });
}

export function histogram<L extends string>(
  config: Omit<HistogramConfiguration<L>, 'registers'>,
): Histogram<L> {
  return new Histogram({ ...config, registers: [] });
}
