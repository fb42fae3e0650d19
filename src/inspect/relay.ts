/**
 * The inspector relay: a page that embeds the Stately inspector, and a WebSocket server that passes
 * each actor event the daemon sends to every page connected, the last 200 replayed to a page that
 * connects late. @statelyai/inspect's own server does the same, but listens on every interface and
 * cannot be told otherwise; this one listens on the host it is given (loopback by default).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

/** Inspection events kept for a page that connects after they were sent. */
const REPLAYED = 200;

export interface Relay {
  port: number;
  close(): Promise<void>;
}

export function startRelay(options: { host: string; port: number; inspectorUrl?: string }): Promise<Relay> {
  const page = bridgePage(options.inspectorUrl ?? 'https://stately.ai/inspect');
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page);
  });
  const sockets = new WebSocketServer({ server });
  // ws passes the server's errors on; the one that matters (listen) is answered below.
  sockets.on('error', () => undefined);
  const recent: string[] = [];
  sockets.on('connection', (socket) => {
    // A page that goes away mid-frame must not take the daemon with it.
    socket.on('error', () => undefined);
    for (const message of recent) socket.send(message);
    socket.on('message', (data) => {
      const message = data.toString();
      recent.push(message);
      if (recent.length > REPLAYED) recent.shift();
      for (const other of sockets.clients) if (other !== socket && other.readyState === WebSocket.OPEN) other.send(message);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(`the inspector relay cannot listen on ${options.host}:${options.port} (${error.code ?? error.message})`)),
    );
    server.listen(options.port, options.host, () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets.clients) socket.close();
            sockets.close();
            server.closeAllConnections();
            server.close(() => done());
          }),
      }),
    );
  });
}

/** The page: the inspector in a frame, fed with what arrives on the relay it was served from. */
function bridgePage(inspectorUrl: string): string {
  return `<!DOCTYPE html>
<html>
<head>
  <title>pg-event-triggers: Stately inspector</title>
  <style>html, body, iframe { margin: 0; width: 100%; height: 100%; border: none; }</style>
</head>
<body>
  <iframe id="inspector" src="${inspectorUrl}"></iframe>
  <script>
    const frame = document.getElementById('inspector');
    const waiting = [];
    let ready = false;
    window.addEventListener('message', (event) => {
      if (event.data && event.data.type === '@statelyai.connected') {
        ready = true;
        for (const data of waiting.splice(0)) frame.contentWindow.postMessage(data, '*');
      }
    });
    const relay = new WebSocket('ws://' + location.host);
    relay.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if (ready) frame.contentWindow.postMessage(data, '*');
      else waiting.push(data);
    };
  </script>
</body>
</html>`;
}
