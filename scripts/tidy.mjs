// Tidy check (`npm run lint`): the import rule of DESIGN.md §1 and a few house rules, over all TypeScript sources.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve, sep } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const serverSrc = join(root, 'packages/server/src');
const clientSrc = join(root, 'packages/client/src');

// Which server layers each layer may import (client ← lib ← domain ← app ← {store, auth, http, providers, webhooks, web} ← main ← cli).
const below = {
  lib: [],
  domain: ['lib'],
  app: ['lib', 'domain'],
  store: ['lib', 'domain', 'app'],
  auth: ['lib', 'domain', 'app'],
  http: ['lib', 'domain', 'app'],
  providers: ['lib', 'domain', 'app'],
  webhooks: ['lib', 'domain', 'app'],
  web: ['lib', 'domain', 'app'],
  main: ['lib', 'domain', 'app', 'store', 'auth', 'http', 'providers', 'webhooks', 'web'],
  cli: ['lib', 'domain', 'app', 'store', 'auth', 'http', 'providers', 'webhooks', 'web', 'main'],
};
// Only these layers may touch a database driver or the query builder.
const dbPackages = ['kysely', 'better-sqlite3', 'pg'];
const ioPackages = ['node:fs', 'node:net', 'node:http', 'node:https', 'node:child_process', 'fastify', ...dbPackages];

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.ts') ? [path] : [];
  });
}

function layerOf(file) {
  const rel = relative(serverSrc, file);
  if (rel.startsWith('..')) return null;
  const first = rel.split(sep)[0] ?? '';
  return first === 'main.ts' || first === 'main.js' ? 'main' : first;
}

const problems = [];
const importPattern = /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

for (const file of [...walk(serverSrc), ...walk(clientSrc)]) {
  const text = readFileSync(file, 'utf8');
  const rel = relative(root, file);
  if (!/^\/\/ \S/.test(text)) problems.push(`${rel}: must start with a one-line comment saying what the file owns`);
  const layer = layerOf(file);
  const inClient = file.startsWith(clientSrc);
  for (const match of text.matchAll(importPattern)) {
    const spec = match[1] ?? match[2] ?? match[3];
    if (!spec) continue;
    if (inClient) {
      if (spec.startsWith('.') && !resolve(dirname(file), spec).startsWith(clientSrc)) problems.push(`${rel}: client imports outside the client (${spec})`);
      if (!spec.startsWith('.') && !spec.startsWith('node:') && !spec.startsWith('@sinclair/typebox')) problems.push(`${rel}: client may depend only on TypeBox and node built-ins (${spec})`);
      continue;
    }
    if (spec.startsWith('.')) {
      const target = layerOf(resolve(dirname(file), spec));
      if (target && target !== layer && !(below[layer] ?? []).includes(target)) {
        problems.push(`${rel}: layer "${layer}" must not import layer "${target}" (${spec})`);
      }
    } else if (dbPackages.some((p) => spec === p || spec.startsWith(`${p}/`)) && !['store', 'main', 'cli'].includes(layer)) {
      problems.push(`${rel}: only store/ talks to the database (${spec})`);
    } else if (layer === 'domain' && ioPackages.some((p) => spec === p || spec.startsWith(`${p}/`))) {
      problems.push(`${rel}: domain/ is pure: no I/O imports (${spec})`);
    }
  }
  // Time and randomness are injected; only lib/ reads them directly.
  if (layer !== 'lib' && !inClient && /\bDate\.now\(\)|\bMath\.random\(\)/.test(text)) {
    problems.push(`${rel}: Date.now()/Math.random() belong in lib/ (inject a clock or ids)`);
  }
  if (!inClient && /\bconsole\.log\(/.test(text)) problems.push(`${rel}: use the logger, not console.log`);
}

if (problems.length > 0) {
  console.error(`tidy: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
console.log('tidy: import rule and house rules hold');
