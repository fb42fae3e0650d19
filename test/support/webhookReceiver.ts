/**
 * A real webhook: a node:http server on 127.0.0.1 that records every request and answers as the test
 * says (status, headers, delay, or hold until released).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseJson } from '../../src/api/json.js';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The body exactly as received. */
  text: string;
  /** The body parsed without losing digits. */
  json: any;
  at: number;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Destroy the socket instead of answering. */
  reset?: boolean;
}

export type Responder = (req: ReceivedRequest, index: number) => Reply | Promise<Reply>;

export interface WebhookReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** Requests whose answer is still pending. */
  inFlight(): number;
  /** The most requests pending at once so far. */
  maxInFlight(): number;
  /** TCP connections accepted so far. */
  connections(): number;
  respondWith(responder: Responder): void;
  /** Hold every request (from now on) until release() is called. */
  hold(): void;
  release(): void;
  /** Resolves once `count` requests have arrived. */
  waitForRequests(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(path = '/hook'): Promise<WebhookReceiver> {
  const requests: ReceivedRequest[] = [];
  let responder: Responder = () => ({ status: 200, body: '{"ok":true}' });
  let holding: Promise<void> | undefined;
  let releaseHold: (() => void) | undefined;
  let pending = 0;
  let maxPending = 0;
  const waiters: Array<{ count: number; resolve: () => void }> = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void answer());
    const answer = async () => {
      pending += 1;
      maxPending = Math.max(maxPending, pending);
      const text = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = parseJson(text);
      } catch {
        json = undefined;
      }
      const received: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        text,
        json,
        at: Date.now(),
      };
      const index = requests.push(received) - 1;
      for (const w of [...waiters]) {
        if (requests.length >= w.count) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
      try {
        if (holding) await holding;
        const reply = await responder(received, index);
        if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
        if (reply.reset) {
          req.socket.destroy();
          return;
        }
        res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
        res.end(reply.body ?? '');
      } finally {
        pending -= 1;
      }
    };
  });
  server.keepAliveTimeout = 60_000;
  let connections = 0;
  server.on('connection', () => void (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}${path}`,
    requests,
    inFlight: () => pending,
    maxInFlight: () => maxPending,
    connections: () => connections,
    respondWith(r) {
      responder = r;
    },
    hold() {
      holding ??= new Promise((resolve) => (releaseHold = resolve));
    },
    release() {
      releaseHold?.();
      holding = undefined;
    },
    waitForRequests(count, timeoutMs = 20_000) {
      if (requests.length >= count) return Promise.resolve(requests);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`webhook got ${requests.length} requests, expected ${count}, within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(requests);
          },
        });
      });
    },
    async close() {
      releaseHold?.();
      holding = undefined;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
