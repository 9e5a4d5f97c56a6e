/**
 * A PostgreSQL array literal (`{"a","b"}`) for binding one array as one parameter: the ORM's query
 * builder would otherwise expand a JavaScript array into a list of parameters. Cast it in SQL (`?::text[]`).
 */
export function sqlArray(values: readonly (string | number)[]): string {
  return `{${values.map((value) => (typeof value === 'number' ? String(value) : `"${value.replace(/[\\"]/g, '\\$&')}"`)).join(',')}}`;
}
