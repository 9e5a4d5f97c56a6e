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
  fieldConfig?: { defaults?: { unit?: string; links?: DataLink[] } };
  targets?: Target[];
  panels?: Panel[];
}
/** A panel's data link: a URL Grafana interpolates (`${__field.labels.x}`, `${__from}`...) when a series is clicked. */
export interface DataLink {
  title: string;
  url: string;
  targetBlank?: boolean;
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
    .replace(/\$\{job(:\w+)?\}|\$job\b/g, 'oddswatch')
    .replace(/\$\{instance(:\w+)?\}|\$instance\b/g, '.+');
}

/** A vector selector of a PromQL expression: the metric name and its label matchers. */
export interface Selector {
  metric: string;
  matchers: { label: string; op: string; value: string }[];
}

const PROMQL_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'atan2']);
const LABEL_LISTS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

/**
 * The vector selectors of a PromQL expression and the labels it groups or matches by (`by (...)`,
 * `on (...)`...): enough of a lexer for the dashboards' queries (strings, ranges, label lists, function
 * calls), not a full parser. Grafana's variables may stay in (they only appear in strings and ranges).
 */
export function parsePromQL(expr: string): { selectors: Selector[]; grouping: string[] } {
  type Token = { kind: 'ident' | 'string' | 'punct'; text: string };
  const tokens: Token[] = [];
  for (let index = 0; index < expr.length; ) {
    const rest = expr.slice(index);
    const space = /^\s+/.exec(rest);
    const string = /^("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)/.exec(rest);
    const range = /^\[[^\]]*\]/.exec(rest);
    const ident = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(rest);
    const number = /^[0-9][0-9.eE+]*[a-zA-Z]*/.exec(rest);
    const match = space ?? range ?? number;
    if (match) {
      index += match[0].length;
    } else if (string) {
      tokens.push({ kind: 'string', text: JSON.parse(`"${string[0].slice(1, -1).replace(/\\(.)/g, '$1').replace(/"/g, '\\"')}"`) as string });
      index += string[0].length;
    } else if (ident) {
      tokens.push({ kind: 'ident', text: ident[0] });
      index += ident[0].length;
    } else {
      const operator = /^(=~|!~|!=|==|>=|<=|[{}(),=<>+\-*/%^])/.exec(rest);
      tokens.push({ kind: 'punct', text: operator ? operator[0] : rest[0]! });
      index += operator ? operator[0].length : 1;
    }
  }
  const selectors: Selector[] = [];
  const grouping: string[] = [];
  for (let index = 0; index < tokens.length; index += 1) {
    const token = tokens[index]!;
    // A selector without a metric name (`{__name__=~"oddswatch_.+"}`): no one metric to check, skipped whole.
    if (token.text === '{') {
      while (index < tokens.length && tokens[index]!.text !== '}') index += 1;
      continue;
    }
    if (token.kind !== 'ident') continue;
    const next = tokens[index + 1];
    if (LABEL_LISTS.has(token.text) && next?.text === '(') {
      for (index += 2; index < tokens.length && tokens[index]!.text !== ')'; index += 1) {
        if (tokens[index]!.kind === 'ident') grouping.push(tokens[index]!.text);
      }
      continue;
    }
    // A keyword, a function, or an aggregation (`sum (...)`, `sum by (le) (...)`).
    if (PROMQL_KEYWORDS.has(token.text) || next?.text === '(' || next?.text === 'by' || next?.text === 'without') continue;
    const selector: Selector = { metric: token.text, matchers: [] };
    if (next?.text === '{') {
      for (index += 2; index < tokens.length && tokens[index]!.text !== '}'; index += 1) {
        const [label, op, value] = [tokens[index], tokens[index + 1], tokens[index + 2]];
        if (label?.kind === 'ident' && op?.kind === 'punct' && value?.kind === 'string') {
          selector.matchers.push({ label: label.text, op: op.text, value: value.text });
          index += 2;
        }
      }
    }
    selectors.push(selector);
  }
  return { selectors, grouping };
}

/** The series labels a panel's every Prometheus query keeps: what `${__field.labels.x}` can use in its data links. */
export function labelsOfEverySeries(panel: Panel): Set<string> {
  const sets = (panel.targets ?? []).filter((target) => target.expr).map((target) => {
    const { selectors, grouping } = parsePromQL(target.expr!);
    // Without any aggregation (e.g. `max by (...)` is one), a bare selector keeps all its labels: not used here.
    return new Set(grouping.length > 0 ? grouping : selectors.flatMap((selector) => selector.matchers.map((matcher) => matcher.label)));
  });
  if (sets.length === 0) return new Set();
  return sets.reduce((common, set) => new Set([...common].filter((label) => set.has(label))));
}
