import { createContext, FormEvent, ReactNode, useContext, useEffect, useRef, useState } from 'react';
import { api, ApiError, getKey, onUnauthorized, setKey } from './api';

/** The scopes an action needs (the registry's scoped keys); `admin` allows everything. */
export type Scope = 'read' | 'predict' | 'feedback' | 'data:write' | 'train' | 'promote' | 'admin';

interface KeySelf {
  name?: string;
  scopes?: string[];
}

interface KeyState {
  key: string | null;
  /** null: the services do not say (no scoped keys): every action is offered, and a 401 prompts for a key. */
  scopes: string[] | null;
  keyName: string | null;
  can: (scope: Scope) => boolean;
  /** Why an action is disabled, for its title. */
  why: (scope: Scope) => string | undefined;
  prompt: () => void;
  forget: () => void;
}

const KeyContext = createContext<KeyState | null>(null);

export function useKey(): KeyState {
  const state = useContext(KeyContext);
  if (!state) throw new Error('useKey outside KeyProvider');
  return state;
}

export function KeyProvider({ children }: { children: ReactNode }) {
  const [key, setKeyState] = useState<string | null>(getKey());
  const [self, setSelf] = useState<KeySelf | null>(null);
  const [prompting, setPrompting] = useState(false);

  useEffect(() => onUnauthorized(() => setPrompting(true)), []);
  useEffect(() => {
    let cancelled = false;
    // GET /keys/self names the key and its scopes where the registry has scoped keys; elsewhere it is absent.
    api<KeySelf>('registry', '/keys/self', { quiet: true })
      .then((answer) => !cancelled && setSelf(answer && Array.isArray(answer.scopes) ? answer : null))
      .catch((error: unknown) => {
        if (cancelled) return;
        setSelf(error instanceof ApiError && error.status === 401 && key ? { scopes: [] } : null);
      });
    return () => {
      cancelled = true;
    };
  }, [key]);

  const scopes = self?.scopes ?? null;
  const can = (scope: Scope) => scopes === null || scopes.includes(scope) || scopes.includes('admin');
  const state: KeyState = {
    key,
    scopes,
    keyName: self?.name ?? null,
    can,
    why: (scope) => (can(scope) ? undefined : `Your key does not have the "${scope}" scope`),
    prompt: () => setPrompting(true),
    forget: () => {
      setKey(null);
      setKeyState(null);
    },
  };
  return (
    <KeyContext.Provider value={state}>
      {children}
      {prompting && (
        <KeyDialog
          onSave={(value) => {
            setKey(value);
            setKeyState(value);
            setPrompting(false);
          }}
          onCancel={() => setPrompting(false)}
        />
      )}
    </KeyContext.Provider>
  );
}

function KeyDialog({ onSave, onCancel }: { onSave: (key: string) => void; onCancel: () => void }) {
  const [value, setValue] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (value.trim()) onSave(value.trim());
  };
  return (
    <div className="backdrop">
      <div role="dialog" aria-modal="true" aria-labelledby="key-title" className="dialog">
        <h2 id="key-title">API key needed</h2>
        <p>
          The services answered 401: this action needs an API key. It is kept in this browser only and sent in
          the X-API-Key header.
        </p>
        <form onSubmit={submit}>
          <label htmlFor="api-key">API key</label>
          <input
            id="api-key"
            ref={input}
            type="password"
            autoComplete="off"
            value={value}
            onChange={(e) => setValue(e.target.value)}
          />
          <div className="row">
            <button type="submit">Use this key</button>
            <button type="button" className="secondary" onClick={onCancel}>
              Cancel
            </button>
          </div>
        </form>
      </div>
    </div>
  );
}
