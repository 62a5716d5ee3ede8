// Starts a worker thread on one of our TypeScript modules: the worker registers tsx first, as bin/tunai.js does.
import { Worker } from 'node:worker_threads';

export function startTypeScriptWorker(moduleUrl: URL, workerData?: unknown): Worker {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(moduleUrl.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}
