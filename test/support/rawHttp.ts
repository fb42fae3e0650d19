/**
 * Raw HTTP to the listening API for the property tests: any bytes, any (or no) content type, over a real
 * socket. A hung request fails the test instead of blocking it.
 */
import { request } from 'undici';

export interface RawResponse {
  status: number;
  contentType: string | undefined;
  text: string;
}

export interface RawRequest {
  method?: 'POST' | 'GET';
  path: string;
  body?: string | Uint8Array;
  /** Content-Type to send; undefined sends none. */
  contentType?: string | undefined;
  headers?: Record<string, string>;
}

const TIMEOUT_MS = 15_000;

export async function sendRaw(baseUrl: string, req: RawRequest): Promise<RawResponse> {
  const headers: Record<string, string> = { ...req.headers };
  if (req.contentType !== undefined) headers['content-type'] = req.contentType;
  const res = await request(`${baseUrl}${req.path}`, {
    method: req.method ?? 'POST',
    headers,
    ...(req.body !== undefined ? { body: req.body } : {}),
    headersTimeout: TIMEOUT_MS,
    bodyTimeout: TIMEOUT_MS,
  });
  const text = await res.body.text();
  const type = res.headers['content-type'];
  return { status: res.statusCode, contentType: Array.isArray(type) ? type[0] : type, text };
}
