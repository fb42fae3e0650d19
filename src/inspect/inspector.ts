/**
 * `--inspect`: serves @statelyai/inspect's inspector server (a WebSocket relay plus the page that embeds
 * the Stately inspector) and streams every actor (the supervisor and each event) to it. Open the
 * printed URL in a browser to watch events move through their machine live.
 */
import { createWebSocketInspector } from '@statelyai/inspect';
import { createInspectorServer } from '@statelyai/inspect/server';
import type { Logger } from 'pino';
import type { InspectionEvent, Observer } from 'xstate';

export interface Inspector {
  /** Pass as `inspect` to createActor. */
  observer: Observer<InspectionEvent>;
  /** The page to open in a browser. */
  url: string;
  close(): Promise<void>;
}

export function startInspector(options: { port: number; log: Logger }): Promise<Inspector> {
  const server = createInspectorServer({ port: options.port, autoOpen: false });
  const client = createWebSocketInspector({ url: `ws://127.0.0.1:${options.port}` });
  const url = `http://localhost:${options.port}`;
  options.log.warn(
    { url },
    `Stately inspector: open ${url} in a browser. Its relay listens on every interface without authentication: use it on trusted networks only`,
  );
  return Promise.resolve({
    observer: client.inspect,
    url,
    close() {
      client.stop();
      server.stop();
      return Promise.resolve();
    },
  });
}
