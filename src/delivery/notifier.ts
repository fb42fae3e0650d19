/**
 * LISTEN on the catalog's channel (pg-listen, which reconnects and re-subscribes by itself). A NOTIFY is
 * only a latency hint: it wakes the fetcher at once, and the poll timer covers whatever is missed while
 * the connection is down. JSON payloads are commands for every daemon (see catalog/channel.ts).
 */
import pgListen from 'pg-listen';
import type { Logger } from 'pino';
import { backoffDelayMs, DATABASE_RETRY } from '../lib/backoff.js';
import { parseChannelCommand, type ChannelCommand } from '../catalog/channel.js';

export interface NotifierOptions {
  connectionString: string;
  channel: string;
  log: Logger;
  onWake(): void;
  onCommand(command: ChannelCommand): void;
  /** The connection came back: notifications may have been missed. */
  onReconnected(): void;
}

export interface Notifier {
  readonly connected: boolean;
  close(): Promise<void>;
}

export async function startNotifier(options: NotifierOptions): Promise<Notifier> {
  let connected = false;
  // pg-listen is CommonJS with `exports.default`: under Node's ESM interop the function is `.default`.
  const subscriber = pgListen.default(
    { connectionString: options.connectionString, application_name: 'pg-event-triggers listen' },
    {
      // Payloads stay raw strings: wake-ups are empty, commands are parsed by parseChannelCommand.
      parse: (payload: string) => payload,
      serialize: (payload: unknown) => String(payload),
      // Retry forever (pg-listen gives up after 3 s by default), with the daemon's reconnect backoff.
      retryTimeout: 0,
      retryLimit: Infinity,
      retryInterval: (attempt: number) => backoffDelayMs(DATABASE_RETRY, attempt),
      paranoidChecking: 10_000,
    },
  );
  subscriber.events.on('notification', ({ channel, payload }) => {
    if (channel !== options.channel) return;
    const command = parseChannelCommand(payload as string | undefined);
    if (command) options.onCommand(command);
    options.onWake();
  });
  subscriber.events.on('reconnect', (attempt) => {
    connected = false;
    if (attempt === 1) options.log.warn('LISTEN connection lost; reconnecting');
  });
  let firstConnect = true;
  subscriber.events.on('connected', () => {
    connected = true;
    if (firstConnect) return void (firstConnect = false);
    options.log.info('LISTEN connection restored');
    options.onReconnected();
  });
  subscriber.events.on('error', (error) => options.log.error({ err: error }, 'LISTEN connection failed'));

  await subscriber.connect();
  await subscriber.listenTo(options.channel);
  connected = true;
  return {
    get connected() {
      return connected;
    },
    close: () => subscriber.close(),
  };
}
