import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layers of src/, from the bottom: a part (a folder of src/, or a file at its top) imports only from
 * parts on lower layers; parts on one layer do not import each other. docs/architecture.md, "Layers",
 * describes this order.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['shared'],
  ['version', 'errors', 'net'],
  ['config'],
  ['telemetry'],
  ['platforms'],
  ['db', 'queue'],
  ['events'],
  ['quality'],
  ['history', 'odds', 'liveState'],
  ['runs'],
  ['scheduler'],
  ['replicas'],
  ['http'],
  ['composition'],
  ['server'],
  ['main'],
];

/** Parts that never import each other, whatever their layers: the run engine and the replica coordination meet only in events/. */
const APART: readonly (readonly [string, string])[] = [['runs', 'replicas']];

/** Folders whose modules are imported from outside only through their face. */
const FACES: Readonly<Record<string, string>> = { events: 'events/index.ts' };

const SRC = join(import.meta.dirname, '../../src');

interface Import {
  file: string;
  from: string;
  to: string;
  target: string;
  specifier: string;
}

/** Every relative import (static, side-effect, re-export or dynamic) of every src/**\/*.ts file, with the parts it joins. */
function importsOf(root: string): Import[] {
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
  const part = (path: string) => {
    const [first = '', ...rest] = path.split(sep);
    return rest.length === 0 ? first.replace(/\.ts$/, '') : first;
  };
  return files.flatMap((file) => {
    const text = readFileSync(join(root, file), 'utf8');
    const specifiers = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'(\.[^']*)'|^\s*import\s+'(\.[^']*)'|\bimport\(\s*'(\.[^']*)'\s*\)/gm)].map((m) => (m[1] ?? m[2] ?? m[3])!);
    return specifiers.map((specifier) => {
      const target = normalize(join(dirname(file), specifier)).replace(/\.js$/, '.ts');
      return { file: join('src', file), from: part(file), to: part(target), target, specifier };
    });
  });
}

function layerViolations(imports: Import[]): string[] {
  const rank = new Map(LAYERS.flatMap((parts, level) => parts.map((name) => [name, level] as const)));
  const apart = (a: string, b: string) => APART.some(([x, y]) => (x === a && y === b) || (x === b && y === a));
  const violations: string[] = [];
  for (const { file, from, to, target, specifier } of imports) {
    if (from === to) continue;
    const [a, b] = [rank.get(from), rank.get(to)];
    if (a === undefined || b === undefined) violations.push(`${file}: '${specifier}' joins a part not in LAYERS (${from} -> ${to})`);
    else if (apart(from, to)) violations.push(`${file}: '${specifier}' (${from} -> ${to}: these parts meet only through events/)`);
    else if (b >= a) violations.push(`${file}: '${specifier}' imports ${b > a ? 'up' : 'across its layer'} (${from} -> ${to})`);
    const face = FACES[to];
    if (face !== undefined && target.split(sep).join('/') !== face) violations.push(`${file}: '${specifier}' bypasses ${face}`);
  }
  return violations;
}

describe('the layers of src/', () => {
  it('finds the imports it checks', () => {
    const imports = importsOf(SRC);
    expect(imports.some((i) => i.file === join('src', 'server.ts') && i.to === 'events')).toBe(true);
    expect(imports.some((i) => i.file === join('src', 'main.ts') && i.to === 'server')).toBe(true);
  });

  it('declares every part of src/ once', () => {
    const declared = LAYERS.flat();
    expect(new Set(declared).size).toBe(declared.length);
    const parts = new Set(importsOf(SRC).flatMap((i) => [i.from, i.to]));
    expect([...parts].filter((name) => !declared.includes(name))).toEqual([]);
  });

  it('has no import up a layer, across a layer, between runs/ and replicas/, or past a face', () => {
    expect(layerViolations(importsOf(SRC))).toEqual([]);
  });

  it('names the file and the import of a violation', () => {
    const at = (file: string, from: string, to: string, target: string) => ({ file, from, to, target, specifier: `../${target}` });
    expect(
      layerViolations([
        at('src/telemetry/sdk.ts', 'telemetry', 'http', 'http/quietPaths.ts'),
        at('src/replicas/coordination.ts', 'replicas', 'runs', 'runs/startRun.ts'),
        at('src/runs/finishRun.ts', 'runs', 'events', 'events/eventLog.ts'),
        at('src/odds/oddsQuery.ts', 'odds', 'history', 'history/scrapeHistory.ts'),
        at('src/http/app.ts', 'http', 'db', 'db/database.ts'),
      ]),
    ).toEqual([
      "src/telemetry/sdk.ts: '../http/quietPaths.ts' imports up (telemetry -> http)",
      "src/replicas/coordination.ts: '../runs/startRun.ts' (replicas -> runs: these parts meet only through events/)",
      "src/runs/finishRun.ts: '../events/eventLog.ts' bypasses events/index.ts",
      "src/odds/oddsQuery.ts: '../history/scrapeHistory.ts' imports across its layer (odds -> history)",
    ]);
  });
});
