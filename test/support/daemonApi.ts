/** Calls to the HTTP API of a daemon running as its own process (daemonProcess.ts), over real HTTP. */
import { request } from 'undici';
import { parseJson } from '../../src/api/json.js';

export interface ApiAnswer {
  status: number;
  text: string;
  /** The body parsed without losing digits, or undefined when it is not JSON. */
  json: any;
}

export async function callApi(
  baseUrl: string,
  path: string,
  options: { method?: 'GET' | 'POST' | 'HEAD' | 'OPTIONS' | 'PUT' | 'DELETE'; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiAnswer> {
  const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
  const res = await request(`${baseUrl}${path}`, {
    method,
    headers: { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
    ...(options.body === undefined ? {} : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = text ? parseJson(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, text, json };
}

/** POST /v1/query {"type", "args"}; throws unless it answers 200. */
export async function query(baseUrl: string, type: string, args: unknown, headers: Record<string, string> = {}): Promise<any> {
  const answer = await callApi(baseUrl, '/v1/query', { body: { type, args }, headers });
  if (answer.status !== 200) throw new Error(`${type} answered ${answer.status}: ${answer.text}`);
  return answer.json;
}
