/**
 * What a statement does, readable by a person and bounded: `db.query.summary` of the semantic conventions
 * (`UPDATE runs UPDATE platform_steps`, `INSERT event_listings INSERT odds UPDATE platform_steps`,
 * `SELECT run_events`) and the `db.operation.name` that goes with it (`UPDATE`, `INSERT`, `SELECT`).
 *
 * Most statements of the run engine are one statement of several data-modifying CTEs, whose first keyword
 * is `WITH` (the pg instrumentation's operation name, which said nothing). The summary lists each part of
 * the statement, the CTEs in order then the main statement, as its operation and the table it works on;
 * a read of no table (`select 1`, `select * from unnest(...)`, a select from one of the statement's own
 * CTEs) is left out when the statement has other parts. Only keywords and table names after
 * FROM/INTO/UPDATE are kept: never a literal, a parameter or a column, so the label is bounded by the
 * statements in the code, whatever they are called with (and parameters are bound anyway, see
 * boundStatement.ts).
 */
export interface StatementDescription {
  /** The statement's operation: its first data-modifying part's (INSERT, UPDATE, DELETE, MERGE), else its first part's (SELECT, LOCK...). */
  operation: string;
  /** Each part's operation and table, space-separated, at most MAX_SUMMARY characters. */
  summary: string;
}

interface Part {
  operation: string;
  /** A table the part reads or writes; undefined for none, a function or one of the statement's CTEs. */
  table?: string;
}

const MAX_SUMMARY = 255;
const WRITES = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const cache = new Map<string, StatementDescription>();
const MAX_CACHED = 1_000;

export function describeStatement(sql: string): StatementDescription {
  const cached = cache.get(sql);
  if (cached) return cached;
  const tokens = tokenize(sql);
  const parts = statementParts(tokens, 0, tokens.length, new Set());
  const kept = parts.filter((part) => part.operation !== 'SELECT' || part.table !== undefined);
  const shown = kept.length > 0 ? kept : parts.slice(0, 1);
  const description: StatementDescription = {
    operation: shown.find((part) => WRITES.has(part.operation))?.operation ?? shown[0]?.operation ?? 'UNKNOWN',
    summary: truncate(shown.map((part) => (part.table ? `${part.operation} ${part.table}` : part.operation)).join(' ')) || 'UNKNOWN',
  };
  if (cache.size < MAX_CACHED) cache.set(sql, description);
  return description;
}

function truncate(summary: string): string {
  if (summary.length <= MAX_SUMMARY) return summary;
  return summary.slice(0, summary.lastIndexOf(' ', MAX_SUMMARY));
}

/**
 * Words (lower case), quoted identifiers (their content) and the punctuation the parser needs; string
 * literals, dollar-quoted bodies, comments, numbers, operators and placeholders are dropped.
 */
function tokenize(sql: string): string[] {
  const tokens: string[] = [];
  const pattern = /--[^\n]*|\/\*[\s\S]*?\*\/|'(?:[^']|'')*'|\$([A-Za-z_]*)\$[\s\S]*?\$\1\$|"((?:[^"]|"")*)"|([A-Za-z_][A-Za-z0-9_$]*)|([(),;.])/g;
  for (const match of sql.matchAll(pattern)) {
    if (match[2] !== undefined) tokens.push(match[2].replaceAll('""', '"'));
    else if (match[3] !== undefined) tokens.push(match[3].toLowerCase());
    else if (match[4] !== undefined) tokens.push(match[4]);
  }
  return tokens;
}

/** The index after the parenthesis that closes the one at `open`. */
function closing(tokens: string[], open: number, end: number): number {
  let depth = 0;
  for (let index = open; index < end; index += 1) {
    if (tokens[index] === '(') depth += 1;
    else if (tokens[index] === ')' && --depth === 0) return index + 1;
  }
  return end;
}

/** The parts of the statement in tokens[start, end): its CTEs' (recursively), then its own. */
function statementParts(tokens: string[], start: number, end: number, ctes: Set<string>): Part[] {
  let index = start;
  while (tokens[index] === '(' && closing(tokens, index, end) === end) {
    index += 1; // a statement in parentheses
    end -= 1;
  }
  const parts: Part[] = [];
  if (tokens[index] === 'with') {
    index += 1;
    if (tokens[index] === 'recursive') index += 1;
    while (index < end) {
      const name = tokens[index++]!;
      ctes.add(name);
      if (tokens[index] === '(') index = closing(tokens, index, end); // column list
      if (tokens[index] === 'as') index += 1;
      if (tokens[index] === 'not') index += 1;
      if (tokens[index] === 'materialized') index += 1;
      if (tokens[index] !== '(') break;
      const after = closing(tokens, index, end);
      parts.push(...statementParts(tokens, index + 1, after - 1, ctes));
      index = after;
      if (tokens[index] !== ',') break;
      index += 1;
    }
  }
  const main = mainPart(tokens, index, end, ctes);
  if (main) parts.push(main);
  return parts;
}

function mainPart(tokens: string[], start: number, end: number, ctes: Set<string>): Part | undefined {
  const keyword = tokens[start];
  if (keyword === undefined || keyword === ';') return undefined;
  /** The table named at `index`; in a FROM list, a name followed by `(` is a function (`unnest(...)`). */
  const tableAt = (index: number, inFrom = false): string | undefined => {
    if (tokens[index] === 'only') index += 1;
    let name = tokens[index];
    while (tokens[index + 1] === '.' && tokens[index + 2] !== undefined) {
      index += 2; // schema.table: the table
      name = tokens[index];
    }
    if (name === undefined || (inFrom && tokens[index + 1] === '(') || ctes.has(name) || !IDENTIFIER.test(name)) return undefined;
    return name;
  };
  switch (keyword) {
    case 'select':
    case 'values':
    case 'table': {
      let depth = 0;
      for (let index = start + 1; index < end; index += 1) {
        const token = tokens[index];
        if (token === '(') depth += 1;
        else if (token === ')') depth -= 1;
        else if (depth === 0 && token === 'from') return { operation: 'SELECT', table: tableAt(index + 1, true) };
      }
      return { operation: 'SELECT', table: keyword === 'table' ? tableAt(start + 1) : undefined };
    }
    case 'insert':
    case 'merge':
      return { operation: keyword.toUpperCase(), table: tokens[start + 1] === 'into' ? tableAt(start + 2) : undefined };
    case 'update':
      return { operation: 'UPDATE', table: tableAt(start + 1) };
    case 'delete':
      return { operation: 'DELETE', table: tokens[start + 1] === 'from' ? tableAt(start + 2) : undefined };
    case 'lock':
      return { operation: 'LOCK', table: tableAt(tokens[start + 1] === 'table' ? start + 2 : start + 1) };
    default:
      return IDENTIFIER.test(keyword) ? { operation: keyword.toUpperCase() } : undefined;
  }
}
