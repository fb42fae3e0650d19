/**
 * Ports for servers a test starts itself on a port it names (PostgreSQL, the inspector relay) or for
 * an address where nothing must listen.
 *
 * A port the kernel picks for `listen(0)` comes from the ephemeral range, the same range every outgoing
 * connection takes its local port from. Such a port, checked free and then closed, can be taken by any
 * connection before the server binds it, or rebinds it after a restart, and a "dead" address can start
 * answering when another test's listen(0) lands on it. Ports below the ephemeral range are only ever
 * taken by an explicit bind, so they are handed out from there: picked at random (parallel test files
 * draw independently), never twice by one process, and checked free by binding them once.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';

const DEFAULT_EPHEMERAL: [number, number] = [32768, 60999];
/** Lowest port handed out: clear of the registered services people commonly run (5432, 8080, ...). */
const LOWEST = 20_000;

/** Linux's ephemeral range (net.ipv4.ip_local_port_range), or the common default elsewhere. */
export function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low! > 0 && high! >= low!) return [low!, high!];
  } catch {
    // not Linux: assume the default
  }
  return DEFAULT_EPHEMERAL;
}

/** The ports handed out from: below the ephemeral range if there is room, else above it. */
function window(): [number, number] {
  const [low, high] = ephemeralRange();
  if (low - 1 - LOWEST >= 1000) return [LOWEST, low - 1];
  if (65_535 - (high + 1) >= 1000) return [high + 1, 65_535];
  return [0, 0]; // no room outside it: let the kernel choose (the race is back, but nothing better exists)
}

const handedOut = new Set<number>();

/** A free TCP port on 127.0.0.1 outside the ephemeral range, not handed out before by this process. */
export async function freePort(): Promise<number> {
  const [low, high] = window();
  if (low === 0) return bindOnce(0);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (handedOut.has(port)) continue;
    try {
      await bindOnce(port);
    } catch {
      continue; // taken: draw again
    }
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port found in ${low}-${high}`);
}

function bindOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const { port: bound } = server.address() as net.AddressInfo;
      server.close(() => resolve(bound));
    });
  });
}
