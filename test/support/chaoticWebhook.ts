/**
 * A chaotic webhook: a raw node:http server on 127.0.0.1 that answers each request with a behaviour
 * drawn from a seeded pseudo-random generator: 2xx, 5xx, a reset before or while answering, a hang
 * past timeout_sec, a 10 MiB body (text or binary), a body dribbled for longer than timeout_sec.
 *
 * The draw depends only on (seed, row id of the captured row, delivery_info.current_retry), not on the
 * order requests arrive in, so a seed replays the same chaos: what every attempt of every event meets,
 * and so how many attempts each event gets and how it ends, is known in advance (planFor).
 *
 * Every request is counted as it arrives, and again once its JSON body named the event it carries.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Behaviour =
  | 'ok' // 200 with a small body
  | 'fail' // 500 or 503 with a small body
  | 'resetBefore' // body read, then socket.destroy() without a byte of answer
  | 'resetWhile' // headers and part of the body written (Content-Length promises more), then socket.destroy()
  | 'hang' // never answers
  | 'slow' // 200 headers, then a few bytes every 100 ms: the body outlasts timeout_sec
  | 'bigText' // 10 MiB of ASCII text, status 200 or 500
  | 'bigBinary'; // 10 MiB of random bytes (NULs included), status 200 or 500

export interface Plan {
  behaviour: Behaviour;
  /** The status the webhook sends (when it sends one). */
  status: number | null;
  /** What the invocation log of this attempt must say: the HTTP status, or null (reset, timeout). */
  loggedStatus: number | null;
  /** The daemon sees a complete 2xx (a 10 MiB 200 is cut off after 1 MiB and counts as its response). */
  succeeds: boolean;
}

export const BIG_BODY_BYTES = 10 * 1024 * 1024;

/** mulberry32: a small, good-enough seeded generator of floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What attempt `currentRetry` of the event of row `rowId` meets, for this seed. */
export function planFor(seed: number, rowId: number, currentRetry: number): Plan {
  const random = mulberry32(Math.imul(seed ^ 0x9e3779b9, 31) ^ Math.imul(rowId, 0x85ebca6b) ^ Math.imul(currentRetry + 1, 0xc2b2ae35));
  random();
  const r = random();
  const coin = random() < 0.5;
  if (r < 0.3) return { behaviour: 'ok', status: 200, loggedStatus: 200, succeeds: true };
  if (r < 0.48) {
    const status = coin ? 500 : 503;
    return { behaviour: 'fail', status, loggedStatus: status, succeeds: false };
  }
  if (r < 0.6) return { behaviour: 'resetBefore', status: null, loggedStatus: null, succeeds: false };
  if (r < 0.7) return { behaviour: 'resetWhile', status: 200, loggedStatus: null, succeeds: false };
  if (r < 0.78) return { behaviour: 'hang', status: null, loggedStatus: null, succeeds: false };
  if (r < 0.86) return { behaviour: 'slow', status: 200, loggedStatus: null, succeeds: false };
  const status = coin ? 200 : 500;
  return { behaviour: r < 0.94 ? 'bigText' : 'bigBinary', status, loggedStatus: status, succeeds: status === 200 };
}

export interface ChaosRequest {
  eventId: string;
  rowId: number;
  currentRetry: number;
  plan: Plan;
}

export interface ChaoticWebhook {
  url: string;
  /** Every request whose body named its event, in arrival order. */
  received: ChaosRequest[];
  /** Every request that arrived (headers), whether or not its body could be read. */
  arrived(): number;
  /** The 10 MiB bodies, to compare with what the invocation logs kept. */
  bigText: Buffer;
  bigBinary: Buffer;
  close(): Promise<void>;
}

export async function startChaoticWebhook(seed: number): Promise<ChaoticWebhook> {
  const bodies = mulberry32(seed);
  const bigText = Buffer.alloc(BIG_BODY_BYTES);
  const bigBinary = Buffer.alloc(BIG_BODY_BYTES);
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ';
  for (let i = 0; i < BIG_BODY_BYTES; i++) {
    const x = bodies();
    bigText[i] = letters.charCodeAt(Math.floor(x * letters.length));
    bigBinary[i] = Math.floor(x * 65536) & 0xff;
  }
  // Make sure the kept part of the binary body has what text cannot: NUL bytes and invalid UTF-8.
  bigBinary[0] = 0x00;
  bigBinary[1] = 0xff;

  const received: ChaosRequest[] = [];
  let arrived = 0;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const server = http.createServer((req, res) => {
    arrived += 1;
    // A write to a socket the daemon cut off (a 10 MiB body, a dribble past timeout) is expected.
    res.on('error', () => undefined);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: { id: string; event: { data: { new: { id: number } } }; delivery_info: { current_retry: number } };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return void req.socket.destroy(); // counted as arrived, not as received: the test sees the gap
      }
      const rowId = body.event.data.new.id;
      const currentRetry = body.delivery_info.current_retry;
      const plan = planFor(seed, rowId, currentRetry);
      received.push({ eventId: body.id, rowId, currentRetry, plan });
      answer(req, res, plan);
    });
  });

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
    return timer;
  };

  const answer = (req: http.IncomingMessage, res: http.ServerResponse, plan: Plan) => {
    switch (plan.behaviour) {
      case 'ok':
      case 'fail':
        res.writeHead(plan.status!, { 'content-type': 'application/json' });
        res.end(plan.status === 200 ? '{"ok":true}' : '{"error":"chaos"}');
        return;
      case 'resetBefore':
        req.socket.destroy();
        return;
      case 'resetWhile':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' });
        res.write('x'.repeat(1000));
        // Let the headers and the first bytes reach the daemon, then cut the connection.
        later(20, () => req.socket.destroy());
        return;
      case 'hang':
        return; // the daemon gives up after timeout_sec and closes the connection
      case 'slow': {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' });
        let sent = 0;
        const tick = () => {
          if (res.destroyed || sent > 100) return void req.socket.destroy();
          res.write('slow.');
          sent += 1;
          later(100, tick);
        };
        tick();
        return;
      }
      case 'bigText':
      case 'bigBinary':
        res.writeHead(plan.status!, { 'content-type': 'application/octet-stream', 'content-length': String(BIG_BODY_BYTES) });
        res.end(plan.behaviour === 'bigText' ? bigText : bigBinary);
        return;
    }
  };

  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  // Keep idle connections open far longer than the test: a webhook closing an idle keep-alive connection
  // just as the daemon reuses it would be a loss nobody could count.
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/chaos`,
    received,
    arrived: () => arrived,
    bigText,
    bigBinary,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
