/**
 * The webhook client on its own, against real sockets on 127.0.0.1: timeout_sec bounds the whole attempt,
 * the connect phase included.
 *
 * A connect that hangs, as with a blackholed host, is made on loopback with a listener whose accept
 * queue is full: backlog 1, two connections already waiting in it, and a process that never accepts
 * (its only thread is parked in Atomics.wait). Linux then drops further SYNs, so the handshake never
 * completes and undici never hands over the controller that could abort the request.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { resolveTrigger } from '../../src/catalog/triggerRegistry.js';
import { WebhookClient, type ClaimedEvent, type WebhookOutcome } from '../../src/delivery/webhookClient.js';

let listener: ChildProcess;
let hungPort: number;
const fillers: net.Socket[] = [];

beforeAll(async () => {
  const script =
    "const s = require('net').createServer();" +
    "s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {" +
    "  process.stdout.write(s.address().port + '\\n');" + // synchronous on a pipe, on Linux
    '  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);' + // parked before accepting anything
    '});';
  listener = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  hungPort = await new Promise<number>((resolve) => listener.stdout!.once('data', (d) => resolve(Number(String(d).trim()))));
  // Two handshakes completed by the kernel fill the queue; the process never takes them.
  for (let i = 0; i < 2; i++) {
    const socket = net.connect(hungPort, '127.0.0.1');
    fillers.push(socket);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  }
});
afterAll(() => {
  for (const s of fillers) s.destroy();
  listener?.kill('SIGKILL');
});

function triggerFor(url: string, timeoutSec: number, more: Record<string, unknown> = {}) {
  return resolveTrigger(
    randomUUID(),
    {
      name: 't',
      table: { schema: 'public', name: 'items' },
      webhook: url,
      headers: [],
      retry_conf: { num_retries: 0, interval_sec: 0, timeout_sec: timeoutSec },
      trigger_on_replication: false,
      ...more,
    },
    {},
  );
}

const event = (): ClaimedEvent => ({
  id: randomUUID(),
  schema_name: 'public',
  table_name: 'items',
  trigger_name: 't',
  tries: 0,
  created_at: '2024-01-01T00:00:00.000000Z',
  payload: '{"op":"INSERT","data":{"old":null,"new":{"id":1}}}',
  retry_in_ms: 0,
  redeliveries: 0,
});

/** Fails after ms rather than waiting: what is tested is that the outcome does not wait that long. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: no outcome after ${ms} ms`)), ms)),
  ]);
}

function expectTimeout(outcome: WebhookOutcome | 'aborted') {
  expect(outcome).not.toBe('aborted');
  const o = outcome as WebhookOutcome;
  expect(o).toMatchObject({ ok: false, status: null, retryAfterMs: null });
  expect(JSON.parse(o.log!.response)).toEqual({
    type: 'client_error',
    data: { message: 'timeout: no complete response within timeout_sec (1s)' },
    version: '2',
  });
}

test('timeout_sec bounds an attempt whose connection never completes', async () => {
  // A connect timeout far beyond timeout_sec: before the fix, the outcome came only when it expired.
  const client = new WebhookClient({ connections: 2, responseBodyLimit: 65_536, connectTimeoutMs: 12_000 });
  const call = client.start(event(), triggerFor(`http://127.0.0.1:${hungPort}/hook`, 1), 0);
  expectTimeout(await within(call.done, 8_000, 'a call to a host that never completes the handshake'));
  // close() waits for undici to give up connecting; the connect error it then reports changes nothing.
  await client.close();
  expectTimeout(await call.done);
});

test('timeout_sec bounds an attempt whose server accepts the connection and never answers', async () => {
  const silent = net.createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as net.AddressInfo;
  const client = new WebhookClient({ connections: 2, responseBodyLimit: 65_536 });
  try {
    const call = client.start(event(), triggerFor(`http://127.0.0.1:${port}/hook`, 1), 0);
    expectTimeout(await within(call.done, 8_000, 'a call to a server that never answers'));
  } finally {
    await client.close();
    silent.close();
  }
});

test('with invocation logs off, an outcome carries no log but still its status and sizes', async () => {
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.statusCode = request.url === '/fail' ? 503 : 200;
      response.setHeader('retry-after', '7');
      response.end('a body of 20 bytes..');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const withoutLogs = new WebhookClient({ connections: 2, responseBodyLimit: 65_536, invocationLogs: false });
  const withLogs = new WebhookClient({ connections: 2, responseBodyLimit: 65_536 });
  try {
    const ok = (await withoutLogs.start(event(), triggerFor(`http://127.0.0.1:${port}/ok`, 5), 0).done) as WebhookOutcome;
    expect(ok).toMatchObject({ ok: true, status: 200, sent: true, responseBytes: 20, log: undefined });
    expect(ok.requestBytes).toBeGreaterThan(0);
    const failed = (await withoutLogs.start(event(), triggerFor(`http://127.0.0.1:${port}/fail`, 5), 0).done) as WebhookOutcome;
    expect(failed).toMatchObject({ ok: false, status: 503, retryAfterMs: 7000, log: undefined });
    const refused = (await withoutLogs.start(event(), triggerFor('http://127.0.0.1:1/closed', 5), 0).done) as WebhookOutcome;
    expect(refused).toMatchObject({ ok: false, status: null, log: undefined });
    expect(refused.summary).toContain('ECONNREFUSED');
    // Every other way an attempt ends carries no log either: no webhook URL, a request transform that
    // sends or that fails, a timeout.
    const unresolved = resolveTrigger(
      randomUUID(),
      {
        name: 't',
        table: { schema: 'public', name: 'items' },
        webhook_from_env: 'NOT_SET_ANYWHERE',
        headers: [],
        retry_conf: { num_retries: 0, interval_sec: 0, timeout_sec: 5 },
        trigger_on_replication: false,
      },
      {},
    );
    expect(await withoutLogs.start(event(), unresolved, 0).done).toMatchObject({ ok: false, sent: false, log: undefined });
    const transform = { request_transform: { version: 2, body: { action: 'transform', template: '{"op": {{$body.event.op}}}' } } };
    const transformed = (await withoutLogs.start(event(), triggerFor(`http://127.0.0.1:${port}/ok`, 5, transform), 0)
      .done) as WebhookOutcome;
    expect(transformed).toMatchObject({ ok: true, status: 200, log: undefined });
    const failing = { request_transform: { version: 2, body: { action: 'transform', template: '{{ head("") }}' } } };
    const failedTransform = await withoutLogs.start(event(), triggerFor(`http://127.0.0.1:${port}/ok`, 5, failing), 0).done;
    expect(failedTransform).toMatchObject({ ok: false, status: null, log: undefined });
    expect((failedTransform as WebhookOutcome).summary).toContain('request transform failed');
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port: silentPort } = silent.address() as net.AddressInfo;
      const timedOut = await withoutLogs.start(event(), triggerFor(`http://127.0.0.1:${silentPort}/hook`, 1), 0).done;
      expect(timedOut).toMatchObject({ ok: false, status: null, log: undefined });
      expect((timedOut as WebhookOutcome).summary).toContain('timeout');
    } finally {
      silent.close();
    }
    // The same answers with logs on are logged as Hasura logs them.
    const transformedLogged = (await withLogs.start(event(), triggerFor(`http://127.0.0.1:${port}/ok`, 5, transform), 0)
      .done) as WebhookOutcome;
    expect(JSON.parse(transformedLogged.log!.request)).toMatchObject({ payload: { op: 'INSERT' } });
    const logged = (await withLogs.start(event(), triggerFor(`http://127.0.0.1:${port}/ok`, 5), 0).done) as WebhookOutcome;
    expect(JSON.parse(logged.log!.response)).toMatchObject({
      type: 'webhook_response',
      data: { status: 200, body: 'a body of 20 bytes..' },
    });
  } finally {
    await withoutLogs.close();
    await withLogs.close();
    server.close();
  }
});
