// `npm run bench`: throughput and latency of the hot paths, each next to a same-run floor (a bare route).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import pg from 'pg';
import { buildPlaintext, dataBase64, generateNonce, parsePrivateKey, signPlaintext } from '@tunai/client/signature';
import { latencyPercentileMs, renderRequest, runLoad, type LoadOptions } from './load.js';

const binPath = new URL('../bin/tunai.js', import.meta.url).pathname;
/** Enough connections to keep both cores busy without measuring queueing alone. */
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const durationSeconds = Number(process.env.BENCH_SECONDS ?? 8);
/**
 * Every scenario runs in this many slices, interleaved with slices of the floor, so that the floor and the
 * scenarios see the same machine: on a shared VM the CPU left to us swings by tens of percent within a minute.
 */
const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
const signedRequestCount = Number(process.env.BENCH_SIGNED_REQUESTS ?? 40_000);
/** Each QuickPay needs its own order id, auth code and signature, so they are pre-built and used once. */
const quickPayCount = Number(process.env.BENCH_QUICKPAY_REQUESTS ?? 24_000);
/** QuickPays sent with an Idempotency-Key, to show what the key costs next to the plain line (fewer: same shape). */
const keyedQuickPayCount = Number(process.env.BENCH_KEYED_QUICKPAY_REQUESTS ?? 12_000);
/** BENCH_ONLY=signed-get,quickpay,quickpay-key,tokens (any of them) runs the floor and those scenarios only, for quick iterations. */
const onlyScenarios = process.env.BENCH_ONLY?.split(',').map((name) => name.trim()) ?? null;
const runs = (scenario: 'signed-get' | 'quickpay' | 'quickpay-key' | 'tokens'): boolean => onlyScenarios === null || onlyScenarios.includes(scenario);

interface Figure {
  name: string;
  requestsPerSecond: number;
  /** Server CPU per request: its event-loop thread, and all its threads (workers, GC); null where /proc is missing. */
  mainThreadMicros: number | null;
  allThreadsMicros: number | null;
  /** CPU a local PostgreSQL spent per request (null on SQLite). */
  databaseMicros: number | null;
  /** CPU the load generator (this process) spent per request. */
  generatorMicros: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
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
let serverPort = 0;
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

/**
 * CPU time used so far by every PostgreSQL process on this machine, in µs; null on SQLite or where /proc shows none
 * (a PostgreSQL elsewhere). A local PostgreSQL shares the two cores with the server and the load generator, so its
 * share per request belongs next to theirs.
 */
function databaseCpuMicros(): number | null {
  if (!process.env.BENCH_DATABASE_URL || !existsSync('/proc')) return null;
  let micros = 0;
  let seen = false;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes(' (postgres) ')) continue;
      const fields = stat.split(') ')[1]?.split(' ') ?? [];
      micros += (Number(fields[11]) + Number(fields[12])) * microsPerClockTick;
      seen = true;
    } catch {
      // a process that ended between listing and reading
    }
  }
  return seen ? micros : null;
}

/** One scenario's measurements, summed over its slices. */
interface Tally {
  name: string;
  requests: number;
  seconds: number;
  mainMicros: number | null;
  allMicros: number | null;
  databaseMicros: number | null;
  generatorMicros: number;
  latencies: Float64Array[];
  non2xx: number;
}

const newTally = (name: string): Tally => ({ name, requests: 0, seconds: 0, mainMicros: 0, allMicros: 0, databaseMicros: 0, generatorMicros: 0, latencies: [], non2xx: 0 });

/** Runs one slice of a scenario, reading the server's and the generator's CPU time around it. */
async function slice(tally: Tally, requests: readonly Buffer[], mode: LoadOptions['mode']): Promise<void> {
  if (requests.length === 0) return;
  const cpuBefore = serverCpuMicros();
  const databaseBefore = databaseCpuMicros();
  const generatorBefore = process.cpuUsage();
  const result = await runLoad({ host: '127.0.0.1', port: serverPort, connections, requests, mode });
  const cpuAfter = serverCpuMicros();
  const databaseAfter = databaseCpuMicros();
  const generatorCpu = process.cpuUsage(generatorBefore);
  tally.requests += result.requestsTotal;
  tally.seconds += result.durationSeconds;
  tally.mainMicros = cpuBefore && cpuAfter && tally.mainMicros !== null ? tally.mainMicros + cpuAfter.main - cpuBefore.main : null;
  tally.allMicros = cpuBefore && cpuAfter && tally.allMicros !== null ? tally.allMicros + cpuAfter.all - cpuBefore.all : null;
  tally.databaseMicros = databaseBefore !== null && databaseAfter !== null && tally.databaseMicros !== null ? tally.databaseMicros + databaseAfter - databaseBefore : null;
  tally.generatorMicros += generatorCpu.user + generatorCpu.system;
  tally.latencies.push(result.latenciesMs);
  tally.non2xx += result.non2xx;
}

function figureOf(tally: Tally): Figure {
  const perRequest = (micros: number | null) => (micros === null ? null : micros / Math.max(tally.requests, 1));
  return {
    name: tally.name,
    requestsPerSecond: tally.requests / tally.seconds,
    mainThreadMicros: perRequest(tally.mainMicros),
    allThreadsMicros: perRequest(tally.allMicros),
    databaseMicros: perRequest(tally.databaseMicros),
    generatorMicros: perRequest(tally.generatorMicros) ?? 0,
    p50Ms: latencyPercentileMs(tally.latencies, 0.5),
    p99Ms: latencyPercentileMs(tally.latencies, 0.99),
    non2xx: tally.non2xx,
  };
}

/** The round'th of `rounds` contiguous parts of a list of single-use requests. */
function part(requests: readonly Buffer[], round: number): Buffer[] {
  const size = Math.ceil(requests.length / rounds);
  return requests.slice(round * size, (round + 1) * size);
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
    figure.generatorMicros.toFixed(0).padStart(8),
    ...(figure.databaseMicros === null ? [] : [figure.databaseMicros.toFixed(0).padStart(8)]),
    figure.non2xx > 0 ? `  (non-2xx ${figure.non2xx})` : '',
  ].join(' ');
}

/**
 * BENCH_DATABASE_URL=postgres://… runs the bench on PostgreSQL instead of a SQLite file: in a schema of its own,
 * created for the run and dropped after it, so the database's other contents are left alone.
 */
async function benchDatabase(): Promise<{ label: string; args: string[]; drop: () => Promise<void> }> {
  const url = process.env.BENCH_DATABASE_URL;
  if (!url) {
    const dataDir = mkdtempSync(join(tmpdir(), 'tunai-bench-'));
    return { label: 'SQLite', args: ['--data', dataDir], drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const schema = `tunai_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`create schema ${schema}`);
  } finally {
    await admin.end();
  }
  const scoped = new URL(url);
  scoped.searchParams.set('options', `-c search_path=${schema}`);
  return {
    label: `PostgreSQL (schema ${schema})`,
    args: ['--database-url', scoped.href],
    drop: async () => {
      const dropper = new pg.Client({ connectionString: url });
      await dropper.connect();
      try {
        await dropper.query(`drop schema ${schema} cascade`);
      } finally {
        await dropper.end();
      }
    },
  };
}

async function main(): Promise<void> {
  const database = await benchDatabase();
  const port = await freePort();
  serverPort = port;
  const baseUrl = `http://127.0.0.1:${port}`;
  const credentials = JSON.parse(
    execFileSync(process.execPath, [binPath, 'init', ...database.args, '--base-url', baseUrl, '--json'], { encoding: 'utf8' }),
  ) as { clientId: string; clientSecret: string; privateKey: string; storeId: string };
  // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the server (open it in Chrome DevTools) to find where time goes.
  const profileArgs = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const server: ChildProcess = spawn(process.execPath, [...profileArgs, binPath, 'serve', '--port', String(port), '--host', '127.0.0.1', ...database.args], {
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
    const host = `127.0.0.1:${port}`;
    const signedGets = Array.from({ length: runs('signed-get') ? signedRequestCount : 0 }, () =>
      renderRequest('GET', '/v3/merchant', host, signedHeaders('get', merchantUrl)),
    );
    process.stdout.write('done\n');

    const quickPayUrl = `${baseUrl}/v3/payment/quickpay`;
    /** `count` fresh QuickPays: WeChat (MY) codes with the immediate-success suffix (codes are single use), own order ids. */
    const preSignQuickPays = (count: number, codePrefix: string, orderPrefix: string, withKey: boolean): Buffer[] => {
      const requests: Buffer[] = [];
      for (let i = 0; i < count; i++) {
        const bodyValue = {
          authCode: `${codePrefix}${String(i).padStart(12, '0')}0000`,
          order: { id: `${orderPrefix}-${i}`, title: 'Bench', detail: 'bench order', additionalData: '', currencyType: 'MYR', amount: 100 + (i % 900) },
          ipAddress: '127.0.0.1',
          storeId: credentials.storeId,
        };
        const headers = {
          ...signedHeaders('post', quickPayUrl, bodyValue),
          'content-type': 'application/json',
          ...(withKey ? { 'idempotency-key': `${orderPrefix}-${i}` } : {}),
        };
        requests.push(renderRequest('POST', '/v3/payment/quickpay', host, headers, JSON.stringify(bodyValue)));
      }
      return requests;
    };
    const quickPayRequests = runs('quickpay') ? quickPayCount : 0;
    const keyedQuickPayRequests = runs('quickpay-key') ? keyedQuickPayCount : 0;
    process.stdout.write(`pre-signing ${quickPayRequests} + ${keyedQuickPayRequests} QuickPay requests … `);
    const quickPays = preSignQuickPays(quickPayRequests, '13', 'bench', false);
    const keyedQuickPays = preSignQuickPays(keyedQuickPayRequests, '14', 'bench-key', true);
    process.stdout.write('done\n');

    // Every scenario is driven the same way: pre-rendered bytes, so the load generator's cost per request is alike.
    const liveProbe = [renderRequest('GET', '/health/live', host, {})];
    const tokenRequest = [renderRequest('POST', '/v1/token', host, { authorization: basic, 'content-type': 'application/json' }, tokenBody)];
    const timedSlice = { kind: 'cycle', durationSeconds: durationSeconds / rounds } as const;
    await slice(newTally('warm-up'), liveProbe, { kind: 'cycle', durationSeconds: 2 });
    const floorTally = newTally('floor: GET /health/live');
    /** Each scenario's tally and how it runs its slice of a round. */
    const scenarios: { tally: Tally; runSlice: (round: number) => Promise<void> }[] = [];
    const signedGetTally = newTally('signed GET /v3/merchant');
    if (runs('signed-get')) scenarios.push({ tally: signedGetTally, runSlice: (round) => slice(signedGetTally, part(signedGets, round), { kind: 'once' }) });
    const quickPayTally = newTally('signed QuickPay (…0000, SUCCESS)');
    if (runs('quickpay')) scenarios.push({ tally: quickPayTally, runSlice: (round) => slice(quickPayTally, part(quickPays, round), { kind: 'once' }) });
    const keyedQuickPayTally = newTally('… with an Idempotency-Key');
    if (runs('quickpay-key')) {
      scenarios.push({ tally: keyedQuickPayTally, runSlice: (round) => slice(keyedQuickPayTally, part(keyedQuickPays, round), { kind: 'once' }) });
    }
    const tokenTally = newTally('POST /v1/token client_credentials');
    if (runs('tokens')) scenarios.push({ tally: tokenTally, runSlice: () => slice(tokenTally, tokenRequest, timedSlice) });
    for (let round = 0; round < rounds; round++) {
      await slice(floorTally, liveProbe, timedSlice);
      for (const scenario of scenarios) await scenario.runSlice(round);
    }
    const floor = figureOf(floorTally);

    console.log(`\ntunai bench — ${connections} connections, ${durationSeconds} s per timed line in ${rounds} interleaved rounds, ${database.label}, one server process, Node ${process.version}`);
    console.log(`${'scenario'.padEnd(34)} ${'req/s'.padStart(9)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'floor req/s'.padStart(11)} ${'ratio'.padStart(7)} ${'main µs'.padStart(8)} ${'all µs'.padStart(8)} ${'load µs'.padStart(8)}${floor.databaseMicros === null ? '' : ` ${'db µs'.padStart(8)}`}`);
    for (const tally of [floorTally, ...scenarios.map((scenario) => scenario.tally)]) console.log(row(figureOf(tally), floor));
    console.log('main µs / all µs: server CPU per request on its event-loop thread / on all its threads (workers, GC);');
    console.log('load µs: the load generator\'s CPU per request (it shares the two cores with the server)');
    if (floor.databaseMicros !== null) console.log('db µs: the local PostgreSQL\'s CPU per request, all its processes (it shares the cores too)');
    console.log('\ntargets: signed GET ≥ 50% of floor; QuickPay ≥ 1,500 payments/s with p99 ≤ 50 ms; client_credentials ≥ 1,500 tokens/s');
    const ledger = spawnSync(process.execPath, [binPath, 'ledger', 'check', ...database.args], { encoding: 'utf8' });
    console.log(`after the run: ${ledger.stdout.trim()} (exit ${ledger.status})`);
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await database.drop();
  }
}

await main();
