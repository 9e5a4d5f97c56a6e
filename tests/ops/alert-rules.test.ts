import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { filesEndingWith, readYaml, repoPath, run } from './repo.js';

/**
 * Every rule file in grafana/alerts is checked and unit-tested with the real promtool
 * (Debian's `prometheus` package, 2.42), and held to the conventions of STYLE.md: severity,
 * summary, description, a runbook_url whose anchor exists in docs/runbooks.md, and tests that
 * show each alert both firing and not firing.
 */

const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
const RUNBOOK_PREFIX = 'https://github.com/oddswatch/oddswatch/blob/main/docs/runbooks.md#';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
interface TestFile {
  rule_files: string[];
  tests: {
    name?: string;
    alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[];
    promql_expr_test?: { expr: string }[];
  }[];
}

const ruleFiles = filesEndingWith('grafana/alerts', '.rules.yml');
const testFileOf = (ruleFile: string) => ruleFile.replace(/\.rules\.yml$/, '.test.yml');

/** GitHub's anchor for a markdown heading: lower case, punctuation dropped, spaces to dashes. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
const runbookAnchors = (): Set<string> =>
  new Set(
    readFileSync(repoPath('docs/runbooks.md'), 'utf8')
      .split('\n')
      .filter((line) => /^#{1,6}\s/.test(line))
      .map((line) => anchorOf(line.replace(/^#+\s*/, ''))),
  );

describe('alert rule files', () => {
  it('exist', () => {
    expect(ruleFiles.length).toBeGreaterThan(0);
  });

  describe.each(ruleFiles)('%s', (ruleFile) => {
    const rules = readYaml<RuleFile>(ruleFile).groups.flatMap((group) => group.rules);
    const alerts = rules.filter((rule) => rule.alert);
    const records = rules.filter((rule) => rule.record);

    it('passes promtool check rules', async () => {
      const result = await run(PROMTOOL, ['check', 'rules', repoPath(ruleFile)]);
      expect(result.code, result.output).toBe(0);
    });

    it('has a unit test file beside it that loads it and passes promtool test rules', async () => {
      const testFile = testFileOf(ruleFile);
      expect(existsSync(repoPath(testFile)), `${testFile} is missing`).toBe(true);
      const ruleFileName = ruleFile.split('/').pop();
      expect(readYaml<TestFile>(testFile).rule_files).toContain(ruleFileName);
      const result = await run(PROMTOOL, ['test', 'rules', repoPath(testFile)]);
      expect(result.code, result.output).toBe(0);
    });

    it('gives every alert a severity of page or ticket, a summary, a description and a runbook section', () => {
      const anchors = runbookAnchors();
      for (const rule of alerts) {
        const name = rule.alert!;
        expect(name, 'alert names are CamelCase with the Oddswatch prefix').toMatch(/^Oddswatch[A-Z][A-Za-z]+$/);
        expect(['page', 'ticket'], `${name} severity`).toContain(rule.labels?.severity);
        expect(rule.annotations?.summary, `${name} summary`).toBeTruthy();
        expect(rule.annotations?.description, `${name} description shows the live value`).toContain('$value');
        const url = rule.annotations?.runbook_url ?? '';
        expect(url, `${name} runbook_url`).toBe(`${RUNBOOK_PREFIX}${name.toLowerCase()}`);
        expect(anchors.has(name.toLowerCase()), `docs/runbooks.md has no "## ${name}" section`).toBe(true);
      }
    });

    it('tests every alert both firing and not firing', () => {
      const tests = readYaml<TestFile>(testFileOf(ruleFile)).tests;
      const cases = tests.flatMap((test) => test.alert_rule_test ?? []);
      for (const name of new Set(alerts.map((rule) => rule.alert!))) {
        const mine = cases.filter((testCase) => testCase.alertname === name);
        expect(mine.some((testCase) => (testCase.exp_alerts ?? []).length > 0), `${name} is never shown firing`).toBe(true);
        expect(mine.some((testCase) => (testCase.exp_alerts ?? []).length === 0), `${name} is never shown not firing`).toBe(true);
      }
      for (const test of tests) expect(test.name, 'every test group has a name (a sentence)').toMatch(/^[A-Z].*\.$/);
    });

    it('tests every recording rule with promql_expr_test', () => {
      const exprs = readYaml<TestFile>(testFileOf(ruleFile))
        .tests.flatMap((test) => test.promql_expr_test ?? [])
        .map((testCase) => testCase.expr);
      for (const rule of records) {
        expect(
          exprs.some((expr) => expr.includes(rule.record!)),
          `${rule.record} has no promql_expr_test`,
        ).toBe(true);
      }
    });
  });
});
