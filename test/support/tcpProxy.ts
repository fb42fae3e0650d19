/**
 * A TCP proxy on 127.0.0.1 in front of PostgreSQL, for tests that need a connection to misbehave as
 * networks do: the server's answers held back for a while (a slow link), or a connection that goes
 * silent without closing (half-open: a peer that vanished, a NAT that forgot the flow).
 *
 * Every connection is tagged with the application_name of its startup message, so a test can pick the
 * daemon connection it disturbs (pool, presence, wake lock) and leave the others alone.
 *
 * What this cannot show: TCP keepalive. The proxy's own kernel answers keepalive probes, so a silenced
 * connection still looks alive to the client's kernel; only the client's own timeouts can notice it.
 */
import net from 'node:net';

export interface ProxiedConnection {
  /** The application_name the client sent, once its startup message went through. */
  readonly applicationName: string | undefined;
  /** Bytes from the server held back by pause(), not yet delivered. */
  readonly heldBytes: number;
  readonly closed: boolean;
  /** The client closed or destroyed its socket (seen even while silenced). */
  readonly clientClosed: boolean;
  /** Holds back what the server sends (the client sends as usual), until resume(). */
  pause(): void;
  resume(): void;
  /** From now on, drops everything both ways without closing anything: a half-open connection. */
  silence(): void;
  /** Closes both sides, as when the network finally reports the connection gone. */
  destroy(): void;
}

export interface TcpProxy {
  /** The database URL given, pointing at the proxy instead. */
  url: string;
  /** Every connection made through the proxy, oldest first. */
  connections: ProxiedConnection[];
  /** Connections whose application_name is `name`. */
  byApplication(name: string): ProxiedConnection[];
  close(): Promise<void>;
}

export async function startTcpProxy(databaseUrl: string): Promise<TcpProxy> {
  const target = new URL(databaseUrl);
  const targetHost = target.hostname === 'localhost' ? '127.0.0.1' : target.hostname;
  const targetPort = Number(target.port || 5432);
  const connections: Array<ProxiedConnection & { kill(): void }> = [];

  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    let applicationName: string | undefined;
    let startup = Buffer.alloc(0);
    let paused = false;
    let silenced = false;
    let closed = false;
    let clientClosed = false;
    const held: Buffer[] = [];
    let heldBytes = 0;

    const close = () => {
      if (closed) return;
      closed = true;
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    // A half-open connection does not report the other side closing either.
    client.on('close', () => {
      clientClosed = true;
      if (!silenced) close();
    });
    upstream.on('close', () => (silenced ? undefined : close()));

    client.on('data', (chunk: Buffer) => {
      if (applicationName === undefined && startup.length < 4096) {
        startup = Buffer.concat([startup, chunk]);
        // The startup message is "key\0value\0" pairs after an 8-byte header.
        const match = /application_name\0([^\0]*)\0/.exec(startup.toString('latin1'));
        if (match) applicationName = match[1];
      }
      if (!silenced) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (silenced) return;
      if (paused) {
        held.push(chunk);
        heldBytes += chunk.length;
        return;
      }
      client.write(chunk);
    });

    connections.push({
      get applicationName() {
        return applicationName;
      },
      get heldBytes() {
        return heldBytes;
      },
      get closed() {
        return closed;
      },
      get clientClosed() {
        return clientClosed;
      },
      pause() {
        paused = true;
      },
      resume() {
        paused = false;
        for (const chunk of held.splice(0)) if (!silenced && !closed) client.write(chunk);
        heldBytes = 0;
      },
      silence() {
        silenced = true;
        held.length = 0;
        heldBytes = 0;
      },
      destroy: close,
      kill: close,
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);

  return {
    url: url.toString(),
    connections,
    byApplication: (name) => connections.filter((c) => c.applicationName === name),
    async close() {
      for (const c of connections) c.kill();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
