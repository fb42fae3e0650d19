/**
 * `--inspect`: serves the inspector relay (relay.ts) and streams every actor (the supervisor and each
 * event) to it. Open the printed URL in a browser to watch events move through their machine live.
 *
 * The relay has no authentication and streams every event's delivery (event ids, trigger names, attempts,
 * response summaries), so it listens on loopback unless INSPECT_HOST says otherwise, which is warned about.
 */
import { createWebSocketInspector } from '@statelyai/inspect';
import type { Logger } from 'pino';
import type { InspectionEvent, Observer } from 'xstate';
import { startRelay } from './relay.js';

export interface Inspector {
  /** Pass as `inspect` to createActor. */
  observer: Observer<InspectionEvent>;
  /** The page to open in a browser. */
  url: string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const ANY = new Set(['0.0.0.0', '::']);

export async function startInspector(options: { host: string; port: number; log: Logger }): Promise<Inspector> {
  const relay = await startRelay({ host: options.host, port: options.port });
  // The daemon reaches a relay on every interface through loopback.
  const reach = ANY.has(options.host) ? '127.0.0.1' : options.host;
  const hostPart = reach.includes(':') ? `[${reach}]` : reach;
  const client = createWebSocketInspector({ url: `ws://${hostPart}:${relay.port}` });
  const url = `http://${LOOPBACK.has(reach) ? 'localhost' : hostPart}:${relay.port}`;
  if (LOOPBACK.has(options.host)) {
    options.log.info({ url }, `Stately inspector: open ${url} in a browser (the relay listens on ${options.host} only)`);
  } else {
    options.log.warn(
      { url, host: options.host },
      `Stately inspector: open ${url} in a browser. INSPECT_HOST=${options.host}: the relay is reachable beyond this machine, ` +
        'without authentication, and streams the delivery of every event to whoever connects: use it on trusted networks only',
    );
  }
  return {
    observer: client.inspect,
    url,
    async close() {
      client.stop();
      await relay.close();
    },
  };
}
