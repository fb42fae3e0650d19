/**
 * The webhook sink: a plain node:http server on 127.0.0.1, run as its own process (forked by the
 * benchmark), that answers 200 at once and records when each event arrived. It reads only the row id
 * from the body (the first key of `event.data.new`), so it costs the machine as little as a sink can.
 *
 * Talks to its parent over IPC: `{type:'reset'}`, `{type:'report'}` → a SinkReport.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface SinkReport {
  /** Requests received since the last reset. */
  received: number;
  /** Distinct row ids among them. */
  distinct: number;
  /** Epoch milliseconds (sub-millisecond precision) of the first and last arrival. */
  firstArrival: number;
  lastArrival: number;
  /** Row id → arrival time, only when asked for (latency runs). */
  arrivals?: Array<[number, number]>;
}

export type SinkCommand = { type: 'reset' } | { type: 'report'; arrivals?: boolean };

const now = () => performance.timeOrigin + performance.now();
const ROW_ID = /"new"\s*:\s*\{\s*"id"\s*:\s*(\d+)/;

let received = 0;
let firstArrival = 0;
let lastArrival = 0;
let arrivalById = new Map<number, number>();

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const at = now();
    received += 1;
    if (firstArrival === 0) firstArrival = at;
    lastArrival = at;
    const match = ROW_ID.exec(Buffer.concat(chunks).toString('utf8'));
    if (match) {
      const id = Number(match[1]);
      if (!arrivalById.has(id)) arrivalById.set(id, at);
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' });
    res.end('{}');
  });
});
server.keepAliveTimeout = 60_000;

process.on('message', (command: SinkCommand) => {
  if (command.type === 'reset') {
    received = 0;
    firstArrival = 0;
    lastArrival = 0;
    arrivalById = new Map();
    process.send!({ type: 'reset-done' });
  } else if (command.type === 'report') {
    const report: SinkReport = { received, distinct: arrivalById.size, firstArrival, lastArrival };
    if (command.arrivals) report.arrivals = [...arrivalById];
    process.send!({ type: 'report', report });
  }
});
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.send!({ type: 'listening', url: `http://127.0.0.1:${port}/hook` });
});
