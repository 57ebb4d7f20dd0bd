// The address bar as the page's state: #/c/<id>, #/safety/<name>[/<conversation>],
// #/new-chat, #/new-group, #/settings. A reload comes back to the same screen.
import { useEffect, useState } from 'react';

export type Route =
  | { readonly kind: 'home' }
  | { readonly kind: 'conversation'; readonly id: string }
  | { readonly kind: 'safety'; readonly username: string; readonly from?: string }
  | { readonly kind: 'new-chat' }
  | { readonly kind: 'new-group' }
  | { readonly kind: 'settings' };

function parseRoute(hash: string): Route {
  const [, kind, arg, from] = hash.split('/');
  if (kind === 'c' && arg && /^[0-9a-f]+$/.test(arg)) return { kind: 'conversation', id: arg };
  if (kind === 'safety' && arg) {
    const username = decodeURIComponent(arg);
    return from && /^[0-9a-f]+$/.test(from)
      ? { kind: 'safety', username, from }
      : { kind: 'safety', username };
  }
  if (kind === 'new-chat') return { kind: 'new-chat' };
  if (kind === 'new-group') return { kind: 'new-group' };
  if (kind === 'settings') return { kind: 'settings' };
  return { kind: 'home' };
}

export function navigate(hash: string): void {
  location.hash = hash;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
