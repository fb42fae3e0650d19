/** The part of ws (a dependency of @statelyai/inspect) that the inspector relay uses. */
declare module 'ws' {
  import type { EventEmitter } from 'node:events';
  import type { Server } from 'node:http';

  export class WebSocket extends EventEmitter {
    static readonly OPEN: number;
    readonly readyState: number;
    send(data: string): void;
    close(): void;
    on(event: 'message', listener: (data: Buffer) => void): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }

  export class WebSocketServer extends EventEmitter {
    constructor(options: { server: Server });
    readonly clients: Set<WebSocket>;
    on(event: 'connection', listener: (socket: WebSocket) => void): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
    close(): void;
  }
}
