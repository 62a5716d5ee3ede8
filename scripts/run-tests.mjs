// Runs every *.test.ts under packages/*/test with Node's test runner (Node 20 does not expand globs itself).
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const testDirs = ['packages/client/test', 'packages/server/test'];
const only = process.argv.slice(2);

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...collect(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

let files = testDirs.flatMap((d) => collect(join(root, d))).sort();
if (only.length > 0) files = files.filter((f) => only.some((o) => f.includes(o)));
if (files.length === 0) {
  console.error('run-tests: no test files found — refusing to report success for zero tests');
  process.exit(1);
}
console.log(`run-tests: ${files.length} files\n${files.map((f) => `  ${relative(root, f)}`).join('\n')}`);
// Node runs os.availableParallelism() - 1 files at a time: one on this 2-core machine. Most long files wait on real
// time (child processes, webhook retries, a browser), and each has its own database, port and directory, so two at a
// time roughly halves the wall time without crowding the CPU. TUNAI_TEST_CONCURRENCY overrides it (1 = one by one).
const concurrency = Number(process.env.TUNAI_TEST_CONCURRENCY ?? '2');
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error('run-tests: TUNAI_TEST_CONCURRENCY must be a whole number of at least 1');
  process.exit(2);
}
// A test that hangs fails after 10 minutes (the longest take well under a minute) instead of holding CI until its limit.
const testTimeoutMs = 600_000;
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${testTimeoutMs}`, '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, NODE_OPTIONS: '' },
});
process.exit(result.status ?? 1);
