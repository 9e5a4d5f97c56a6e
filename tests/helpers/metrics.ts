import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/** One sample of a scraped exposition: labels and value (histograms: count and sum). */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

interface ParsedFamily {
  name: string;
  type: string;
  metrics: { labels?: Record<string, string>; value?: string; count?: string; sum?: string; buckets?: Record<string, string> }[];
}

/** Scrapes /metrics and parses it with a maintained exposition parser (prom2json-compatible). */
export class MetricsSnapshot {
  private constructor(
    readonly text: string,
    private readonly families: Map<string, ParsedFamily>,
    /** The same exposition with histogram TYPE lines dropped, so `_count`/`_sum`/`_bucket` series keep their labels. */
    private readonly series: Map<string, ParsedFamily>,
  ) {}

  static async scrape(url: string): Promise<MetricsSnapshot> {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
    const text = await response.text();
    const families = parsePrometheusTextFormat(text) as ParsedFamily[];
    // The parser folds a labelled histogram's series into one sample (prom2json style) and loses their labels.
    const untyped = parsePrometheusTextFormat(text.replace(/^# (TYPE|HELP) \S+ .*$/gm, '')) as ParsedFamily[];
    return new MetricsSnapshot(
      text,
      new Map(families.map((family) => [family.name, family])),
      untyped.reduce((byName, family) => {
        // Series of one histogram are interleaved per label set: the same name comes back, merge it.
        const known = byName.get(family.name);
        if (known) known.metrics.push(...family.metrics);
        else byName.set(family.name, { ...family, metrics: [...family.metrics] });
        return byName;
      }, new Map<string, ParsedFamily>()),
    );
  }

  has(name: string): boolean {
    return this.families.has(name);
  }

  type(name: string): string | undefined {
    return this.families.get(name)?.type;
  }

  samples(name: string): Sample[] {
    const family = this.families.get(name)?.type === 'HISTOGRAM' ? undefined : (this.families.get(name) ?? this.series.get(name));
    if (!family) return [];
    return family.metrics.map((metric) => ({ labels: metric.labels ?? {}, value: Number(metric.value ?? metric.count ?? Number.NaN) }));
  }

  /** The value of the sample whose labels include `labels` (0 when absent), or the sum over matches. */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.samples(name)
      .filter((sample) => Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
      .reduce((total, sample) => total + sample.value, 0);
  }

  /** Observations recorded by a histogram for the matching label set (its `_count`). */
  histogramCount(name: string, labels: Record<string, string> = {}): number {
    return this.value(`${name}_count`, labels);
  }
}
