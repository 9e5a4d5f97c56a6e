import { describe, expect, it } from 'vitest';
import { sqlArray } from '../../src/db/sqlArray.js';

describe('sqlArray (one array bound as one parameter)', () => {
  it('quotes every string, escaping only quotes and backslashes', () => {
    expect(sqlArray([])).toBe('{}');
    expect(sqlArray([''])).toBe('{""}');
    expect(sqlArray(['ev-1', 'A v B'])).toBe('{"ev-1","A v B"}');
    expect(sqlArray(['say "hi"', 'back\\slash', '\\"', 'x,y', '{}', 'NULL', 'ünï'])).toBe('{"say \\"hi\\"","back\\\\slash","\\\\\\"","x,y","{}","NULL","ünï"}');
  });

  it('writes numbers as JavaScript prints them', () => {
    expect(sqlArray([1, 2.5, 1.8599999999999999])).toBe('{1,2.5,1.8599999999999999}');
  });
});
