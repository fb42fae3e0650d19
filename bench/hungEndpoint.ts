/**
 * An endpoint that accepts connections and requests and never answers: the fault of the isolation
 * scenario. It counts the requests it holds, so the scenario can wait until they fill the daemon's pool.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HungEndpoint {
  url: string;
  /** Requests received and still held. */
  held(): number;
  close(): Promise<void>;
}

export async function startHungEndpoint(): Promise<HungEndpoint> {
  const held = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    req.resume();
    held.add(res);
    res.on('close', () => held.delete(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hung`,
    held: () => held.size,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
