/**
 * A TCP relay in front of PostgreSQL that counts round trips: every simple Query ('Q') and every Sync
 * ('S', which ends a pipeline of Parse/Bind/Execute) that a client sends is one wait for the server.
 * It reads the protocol's framing only (a type byte and a length), never the contents.
 */
import net from 'node:net';

export interface RoundTripCounter {
  /** host:port to connect to instead of the server. */
  port: number;
  roundTrips(): number;
  reset(): void;
  close(): Promise<void>;
}

export async function startRoundTripCounter(target: { host: string; port: number }): Promise<RoundTripCounter> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    let pending: Buffer = Buffer.alloc(0);
    let startupDone = false;
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      // The first message (startup or SSL request) has no type byte: a length, then the body.
      if (!startupDone) {
        if (pending.length < 4) return;
        const length = pending.readInt32BE(0);
        if (pending.length < length) return;
        pending = pending.subarray(length);
        startupDone = true;
      }
      while (pending.length >= 5) {
        const length = pending.readInt32BE(1);
        if (pending.length < 1 + length) break;
        const type = pending[0];
        if (type === 0x51 /* Q */ || type === 0x53 /* S */) count += 1;
        pending = pending.subarray(1 + length);
      }
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    roundTrips: () => count,
    reset: () => void (count = 0),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
