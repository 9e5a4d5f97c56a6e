import { readFileSync } from 'node:fs';
import { filesEndingWith, repoPath } from './repo.js';

/** Just the parts of Grafana's dashboard JSON model the ops tests read. */
export interface DataSourceRef {
  type?: string;
  uid?: string;
}
export interface Target {
  refId?: string;
  datasource?: DataSourceRef | string;
  expr?: string;
  query?: string;
}
export interface Panel {
  id?: number;
  type: string;
  title?: string;
  description?: string;
  datasource?: DataSourceRef | string | null;
  interval?: string;
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: Target[];
  panels?: Panel[];
}
export interface TemplateVariable {
  name: string;
  type: string;
  query?: string | { query?: string };
  datasource?: DataSourceRef | string | null;
  current?: { value?: string | string[] };
}
export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating?: { list: TemplateVariable[] };
  links?: { title: string; url?: string; type: string }[];
}

export const DASHBOARD_FILES = filesEndingWith('grafana/dashboards', '.json');

export function loadDashboard(file: string): Dashboard {
  return JSON.parse(readFileSync(repoPath(file), 'utf8')) as Dashboard;
}

/** Every panel, including those nested in collapsed rows. */
export function allPanels(dashboard: Dashboard): Panel[] {
  const walk = (panels: Panel[]): Panel[] => panels.flatMap((panel) => [panel, ...walk(panel.panels ?? [])]);
  return walk(dashboard.panels);
}

/** The data source uid a panel or target points at, with `${datasource}` resolved to its default value. */
export function resolveUid(dashboard: Dashboard, ref: DataSourceRef | string | null | undefined): string | undefined {
  const uid = typeof ref === 'string' ? ref : ref?.uid;
  if (!uid) return undefined;
  const variable = /^\$\{?(\w+)\}?$/.exec(uid)?.[1];
  if (!variable) return uid;
  const value = dashboard.templating?.list.find((v) => v.name === variable && v.type === 'datasource')?.current?.value;
  return Array.isArray(value) ? value[0] : value;
}

export interface PromQuery {
  where: string;
  expr: string;
  /** The panel's minimum interval, which Grafana uses for $__interval. */
  interval?: string;
}

/**
 * Every PromQL expression of a dashboard: Prometheus panel targets and query variables
 * (`label_values(selector, label)` becomes the selector it reads).
 */
export function promQueries(dashboard: Dashboard, prometheusUid = 'prometheus'): PromQuery[] {
  const queries: PromQuery[] = [];
  for (const panel of allPanels(dashboard)) {
    for (const target of panel.targets ?? []) {
      const uid = resolveUid(dashboard, target.datasource ?? panel.datasource);
      if (uid !== prometheusUid || !target.expr) continue;
      queries.push({ where: `${dashboard.title} / ${panel.title} / ${target.refId}`, expr: target.expr, interval: panel.interval });
    }
  }
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type !== 'query' || resolveUid(dashboard, variable.datasource) !== prometheusUid) continue;
    const text = typeof variable.query === 'string' ? variable.query : variable.query?.query ?? '';
    const labelValues = /^label_values\((.+),\s*\w+\)$/.exec(text.trim());
    queries.push({ where: `${dashboard.title} / variable $${variable.name}`, expr: labelValues ? labelValues[1]! : text });
  }
  return queries;
}

/**
 * Grafana's built-in and dashboard variables replaced the way Grafana would, so the expression
 * can be sent to Prometheus as is. Multi-value variables become a regex alternation.
 */
export function substituteVariables(expr: string, interval = '1m'): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('${__rate_interval}', '1m')
    .replaceAll('$__interval_ms', '60000')
    .replaceAll('$__interval', interval)
    .replaceAll('${__interval}', interval)
    .replaceAll('$__range_s', '21600')
    .replaceAll('$__range', '6h')
    .replaceAll('${__range}', '6h')
    .replace(/\$\{platform(:\w+)?\}|\$platform\b/g, '(alpha|beta)')
    .replace(/\$\{job(:\w+)?\}|\$job\b/g, 'oddswatch');
}
