import { CSSProperties, ReactNode } from 'react';
import { ApiError } from './api';

export function ErrorBox({ error, what }: { error: Error | undefined; what: string }) {
  if (!error) return null;
  const status = error instanceof ApiError ? ` (${error.status})` : '';
  return (
    <p className="error" role="alert">
      Could not {what}
      {status}: {error.message}
    </p>
  );
}

export function Loading({ when, children }: { when: boolean; children?: ReactNode }) {
  return when ? <p className="muted">Loading…</p> : <>{children}</>;
}

export function State({ state }: { state: string }) {
  return <span className={`state state-${state}`}>{state}</span>;
}

export const short = (id: string | null | undefined, n = 8) => (id ? id.slice(0, n) : '—');

export function fmt(value: unknown, digits = 4): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return String(value);
    return Number(value.toPrecision(digits)).toString();
  }
  return String(value);
}

export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');

export function Page({
  title,
  children,
  actions,
}: {
  title: string;
  children: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <>
      <div className="page-head">
        <h1>{title}</h1>
        {actions}
      </div>
      {children}
    </>
  );
}

/** A table's header row: one column a label, `{ num: label }` for a right-aligned number column. */
export function TableHead({ columns }: { columns: (string | { num: string })[] }) {
  return (
    <thead>
      <tr>
        {columns.map((column) =>
          typeof column === 'string' ? (
            <th key={column}>{column}</th>
          ) : (
            <th key={column.num} className="num">
              {column.num}
            </th>
          ),
        )}
      </tr>
    </thead>
  );
}

/** A labelled text (or, with `type="number"`, number) input bound to a string state. */
export function TextField({
  id,
  label,
  value,
  onChange,
  placeholder,
  type,
  min,
  style,
}: {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  placeholder?: string;
  type?: 'number' | 'datetime-local';
  min?: number;
  /** Of the field (label and input), e.g. to let it grow in a row. */
  style?: CSSProperties;
}) {
  return (
    <div className="field" style={style}>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type={type}
        min={min}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        placeholder={placeholder}
      />
    </div>
  );
}

/** What a form's last submit came to: done (ok) or why not. */
export interface OutcomeMessage {
  ok: boolean;
  text: string;
}

/** A form's outcome line, announced to screen readers; nothing before the first submit. */
export function Outcome({ message }: { message: OutcomeMessage | null }) {
  if (!message) return null;
  return (
    <p className={message.ok ? 'ok' : 'error'} role="status">
      {message.text}
    </p>
  );
}
