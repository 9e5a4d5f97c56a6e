// Builds the service and the dashboard only when their output is missing or older than their sources,
// so `npm start` works on a fresh clone and starts fast afterwards.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const newest = (dir) => {
  if (!existsSync(dir)) return 0;
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }
  return latest;
};
const mtime = (file) => (existsSync(file) ? statSync(file).mtimeMs : 0);

const targets = [
  { name: 'service', output: 'dist/main.js', sources: ['src', 'tsconfig.build.json', 'package.json'], command: 'npm run build:server' },
  { name: 'dashboard', output: 'dashboard/dist/index.html', sources: ['dashboard/src', 'dashboard/index.html', 'dashboard/vite.config.ts', 'src/shared'], command: 'npm run build:dashboard' },
];
const serviceOnly = process.argv.includes('--service-only');
for (const target of serviceOnly ? targets.slice(0, 1) : targets) {
  const sourceTime = Math.max(...target.sources.map((source) => (statSync(source, { throwIfNoEntry: false })?.isDirectory() ? newest(source) : mtime(source))));
  if (mtime(target.output) >= sourceTime) continue;
  console.log(`building the ${target.name}...`);
  // Vitest sets NODE_ENV=test and Vite honours an inherited NODE_ENV: without this the dashboard served to the
  // browser tests would be a development build of Vue (bigger, dev warnings), unlike what users get.
  execSync(target.command, { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
  if (target.name === 'service') writeFileSync('dist/build-info.json', JSON.stringify(buildInfo()));
}

/** What the service was built from, for the benches to print (git may be absent: then unknown). */
function buildInfo() {
  const git = (command) => {
    try {
      return execSync(`git ${command}`, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  const status = git('status --porcelain -- src tsconfig.build.json package.json');
  return { builtAt: new Date().toISOString(), commit: git('rev-parse HEAD'), dirty: status === null ? null : status !== '' };
}
