// `npm run bench`: throughput and latency of the hot paths, each next to a same-run floor (a bare route).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import autocannon from 'autocannon';
import { buildPlaintext, dataBase64, generateNonce, parsePrivateKey, signPlaintext } from '@tunai/client/signature';

const binPath = new URL('../bin/tunai.js', import.meta.url).pathname;
/** Enough connections to keep both cores busy without measuring queueing alone. */
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const durationSeconds = Number(process.env.BENCH_SECONDS ?? 8);
const signedRequestCount = Number(process.env.BENCH_SIGNED_REQUESTS ?? 40_000);
/** Each QuickPay needs its own order id, auth code and signature, so they are pre-built and used once. */
const quickPayCount = Number(process.env.BENCH_QUICKPAY_REQUESTS ?? 24_000);
/** BENCH_ONLY=signed-get runs the floor and the signed GET only, for quick iterations while profiling. */
const signedGetOnly = process.env.BENCH_ONLY === 'signed-get';

interface Figure {
  name: string;
  requestsPerSecond: number;
  /** Server CPU per request: its event-loop thread, and all its threads (workers, GC); null where /proc is missing. */
  mainThreadMicros: number | null;
  allThreadsMicros: number | null;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
}

async function waitForHealth(baseUrl: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const res = await fetch(`${baseUrl}/health`);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not become healthy');
}

/** The server process, whose CPU time each run reads from /proc (Linux). */
let serverPid: number | undefined;
/** /proc reports CPU time in clock ticks of this length (USER_HZ is 100 on Linux). */
const microsPerClockTick = 10_000;

/** CPU time used so far by the server's event-loop thread and by all its threads, in µs. */
function serverCpuMicros(): { main: number; all: number } | null {
  if (serverPid === undefined || !existsSync(`/proc/${serverPid}/task`)) return null;
  const threadMicros = (tid: string): number => {
    try {
      // Fields after the command name: utime and stime are the 12th and 13th.
      const fields = readFileSync(`/proc/${serverPid}/task/${tid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      return (Number(fields[11]) + Number(fields[12])) * microsPerClockTick;
    } catch {
      return 0; // a thread that ended between listing and reading
    }
  };
  const all = readdirSync(`/proc/${serverPid}/task`).reduce((sum, tid) => sum + threadMicros(tid), 0);
  return { main: threadMicros(String(serverPid)), all };
}

async function load(name: string, options: autocannon.Options): Promise<Figure> {
  // autocannon checks a fixed `amount` for completion only at each sample tick, so the default 1 s tick would
  // round the measured duration up by as much as a second; a 20 ms tick keeps that error negligible.
  const settings: autocannon.Options = { connections, sampleInt: 20, ...options };
  if (settings.amount === undefined && settings.duration === undefined) settings.duration = durationSeconds;
  const cpuBefore = serverCpuMicros();
  const result = await autocannon(settings);
  const cpuAfter = serverCpuMicros();
  const total = Math.max(result.requests.total, 1);
  return {
    name,
    mainThreadMicros: cpuBefore && cpuAfter ? (cpuAfter.main - cpuBefore.main) / total : null,
    allThreadsMicros: cpuBefore && cpuAfter ? (cpuAfter.all - cpuBefore.all) / total : null,
    // total / elapsed, not autocannon's per-second average (which a fixed-amount run's partial last second skews).
    requestsPerSecond: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

function row(figure: Figure, floor: Figure): string {
  const ratio = figure.requestsPerSecond / floor.requestsPerSecond;
  return [
    figure.name.padEnd(34),
    figure.requestsPerSecond.toFixed(0).padStart(9),
    figure.p50Ms.toFixed(1).padStart(7),
    figure.p99Ms.toFixed(1).padStart(7),
    floor.requestsPerSecond.toFixed(0).padStart(11),
    `${(ratio * 100).toFixed(0)}%`.padStart(7),
    (figure.mainThreadMicros?.toFixed(0) ?? '-').padStart(8),
    (figure.allThreadsMicros?.toFixed(0) ?? '-').padStart(8),
    figure.non2xx + figure.errors > 0 ? `  (non-2xx ${figure.non2xx}, errors ${figure.errors})` : '',
  ].join(' ');
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tunai-bench-'));
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const credentials = JSON.parse(
    execFileSync(process.execPath, [binPath, 'init', '--data', dataDir, '--base-url', baseUrl, '--json'], { encoding: 'utf8' }),
  ) as { clientId: string; clientSecret: string; privateKey: string; storeId: string };
  // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the server (open it in Chrome DevTools) to find where time goes.
  const profileArgs = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const server: ChildProcess = spawn(process.execPath, [...profileArgs, binPath, 'serve', '--port', String(port), '--host', '127.0.0.1', '--data', dataDir], {
    env: { ...process.env, LOG_LEVEL: 'warn', TUNAI_PUBLIC_URL: baseUrl },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  serverPid = server.pid;
  try {
    await waitForHealth(baseUrl);
    const basic = `Basic ${Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`).toString('base64')}`;
    const tokenBody = JSON.stringify({ grantType: 'client_credentials' });
    const tokenRes = await fetch(`${baseUrl}/v1/token`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: tokenBody,
    });
    const { accessToken } = (await tokenRes.json()) as { accessToken: string };

    // Signatures are made before the run so the load generator does not compete with the server for RSA work.
    process.stdout.write(`pre-signing ${signedRequestCount} requests … `);
    const privateKey = parsePrivateKey(credentials.privateKey);
    const timestamp = String(Math.floor(Date.now() / 1000));
    /** RM's headers for one request, signed in the Go form with a fresh nonce. */
    const signedHeaders = (method: 'get' | 'post', requestUrl: string, body?: unknown): Record<string, string> => {
      const nonceStr = generateNonce();
      const data = body === undefined ? undefined : dataBase64(body);
      const plaintext = buildPlaintext({ ...(data ? { data } : {}), method, nonceStr, requestUrl, signType: 'sha256', timestamp });
      return {
        authorization: `Bearer ${accessToken}`,
        'x-signature': `sha256 ${signPlaintext(plaintext, privateKey)}`,
        'x-nonce-str': nonceStr,
        'x-timestamp': timestamp,
      };
    };
    const merchantUrl = `${baseUrl}/v3/merchant`;
    const signedGets = Array.from({ length: signedRequestCount }, () => signedHeaders('get', merchantUrl));
    process.stdout.write('done\n');

    const quickPayRequests = signedGetOnly ? 0 : quickPayCount;
    process.stdout.write(`pre-signing ${quickPayRequests} QuickPay requests … `);
    const quickPayUrl = `${baseUrl}/v3/payment/quickpay`;
    const quickPays: { headers: Record<string, string>; body: string }[] = [];
    for (let i = 0; i < quickPayRequests; i++) {
      // WeChat (MY) shape with the immediate-success suffix; every code and order id is fresh (codes are single use).
      const authCode = `13${String(i).padStart(12, '0')}0000`;
      const bodyValue = {
        authCode,
        order: { id: `bench-${i}`, title: 'Bench', detail: 'bench order', additionalData: '', currencyType: 'MYR', amount: 100 + (i % 900) },
        ipAddress: '127.0.0.1',
        storeId: credentials.storeId,
      };
      quickPays.push({
        body: JSON.stringify(bodyValue),
        headers: { ...signedHeaders('post', quickPayUrl, bodyValue), 'content-type': 'application/json' },
      });
    }
    process.stdout.write('done\n');

    await load('warm-up', { url: `${baseUrl}/health/live`, duration: 2 });
    const floor = await load('floor: GET /health/live', { url: `${baseUrl}/health/live` });
    let next = 0;
    const signedGet = await load('signed GET /v3/merchant', {
      url: baseUrl,
      amount: signedRequestCount,
      requests: [
        {
          method: 'GET',
          path: '/v3/merchant',
          setupRequest: (request) => ({ ...request, headers: { ...request.headers, ...signedGets[next++ % signedGets.length] } }),
        },
      ],
    });
    let nextPay = 0;
    const quickPay = signedGetOnly ? null : await load('signed QuickPay (…0000, SUCCESS)', {
      url: baseUrl,
      amount: quickPayCount,
      requests: [
        {
          method: 'POST',
          path: '/v3/payment/quickpay',
          setupRequest: (request) => {
            const prepared = quickPays[nextPay++ % quickPays.length]!;
            return { ...request, headers: { ...request.headers, ...prepared.headers }, body: prepared.body };
          },
        },
      ],
    });
    const tokens = signedGetOnly ? null : await load('POST /v1/token client_credentials', {
      url: `${baseUrl}/v1/token`,
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: tokenBody,
    });
    const floorAgain = await load('floor (again)', { url: `${baseUrl}/health/live` });
    const floorMean: Figure = { ...floor, requestsPerSecond: (floor.requestsPerSecond + floorAgain.requestsPerSecond) / 2 };

    console.log(`\ntunai bench — ${connections} connections, ${durationSeconds} s runs, SQLite, one server process, Node ${process.version}`);
    console.log(`${'scenario'.padEnd(34)} ${'req/s'.padStart(9)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'floor req/s'.padStart(11)} ${'ratio'.padStart(7)} ${'main µs'.padStart(8)} ${'all µs'.padStart(8)}`);
    console.log(row(floor, floorMean));
    console.log(row(signedGet, floorMean));
    if (quickPay) console.log(row(quickPay, floorMean));
    if (tokens) console.log(row(tokens, floorMean));
    console.log('main µs / all µs: server CPU per request on its event-loop thread / on all its threads (workers, GC)');
    console.log('\ntargets: signed GET ≥ 50% of floor; QuickPay ≥ 1,500 payments/s with p99 ≤ 50 ms; client_credentials ≥ 1,500 tokens/s');
    const ledger = spawnSync(process.execPath, [binPath, 'ledger', 'check', '--data', dataDir], { encoding: 'utf8' });
    console.log(`after the run: ${ledger.stdout.trim()} (exit ${ledger.status})`);
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
