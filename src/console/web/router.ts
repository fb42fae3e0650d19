/**
 * Routes live in the URL's fragment (/console#/events/<id>), so the daemon serves one page and every view
 * has an address that can be bookmarked, reloaded and shared; a view's filters are in the fragment's
 * query (#/triggers/orders?tab=processed&status=error) and survive a reload too.
 */

/** What a view returns: stops its polling when the user leaves it. */
export type Stop = () => void;

export interface Route {
  /** The path's segments, decoded: ["triggers", "orders", "edit"]. */
  path: string[];
  params: URLSearchParams;
}

export function parseRoute(hash = location.hash): Route {
  const text = hash.replace(/^#/, '');
  const [pathPart = '', query = ''] = text.split('?', 2);
  const path = pathPart
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  return { path, params: new URLSearchParams(query) };
}

/** The fragment of a route: href(['triggers', name]) is "#/triggers/<name>". */
export function href(path: string[], params?: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params ?? {})) if (value !== undefined && value !== '') query.set(key, value);
  const q = query.toString();
  return `#/${path.map(encodeURIComponent).join('/')}${q ? `?${q}` : ''}`;
}

export function navigate(hash: string): void {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}

/** Records a view's state in the address without leaving the view (no hashchange, no new history entry). */
export function replaceParams(params: Record<string, string | undefined>): void {
  const route = parseRoute();
  history.replaceState(null, '', href(route.path, params));
}
