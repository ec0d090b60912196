/** A cast written after a placeholder: a type name (`integer`, `double precision`, `timestamptz`, `text[]`). */
const CAST = /^[a-z_][a-z0-9_ ]*(\[\])*$/i;

/** A named parameter in SQL text: `$` and a lower-case letter, then letters (`$task`, `$edges`); `$1` is not one. */
const NAMED = /\$([a-z][a-zA-Z]*)/g;

/**
 * The parameters of one SQL statement, and the one way repositories write placeholders: each method appends values
 * and answers the SQL text that refers to them (`$1`, `($2, $3::integer)`, ...), numbered in the order they were
 * added, so fragments composed by different functions never disagree on the numbering. Values always travel as
 * parameters; only the placeholders and the casts (type names, checked) are written into the SQL.
 *
 * ```ts
 * const params = new SqlParams();
 * const rows = params.rows(points.map((p) => [runId, p.key, p.value]), ['uuid', null, 'double precision']);
 * await manager.query(`INSERT INTO registry.metrics (run_id, key, value) VALUES ${rows}`, params.values);
 * ```
 */
export class SqlParams {
  /** The values of the placeholders handed out so far: `values[0]` is `$1`. */
  readonly values: unknown[] = [];

  /** Appends a value; answers its placeholder (`$4`), followed by the cast when one is given (`$4::jsonb`). */
  add(value: unknown, cast?: string | null): string {
    if (cast && !CAST.test(cast)) throw new Error(`not a type name to cast a SQL parameter to: '${cast}'`);
    this.values.push(value);
    const placeholder = `$${this.values.length}`;
    return cast ? `${placeholder}::${cast}` : placeholder;
  }

  /** One row of a VALUES list: `($1, $2::integer, ...)`, the value at index i cast to `casts[i]` when that is set. */
  tuple(values: readonly unknown[], casts: readonly (string | null | undefined)[] = []): string {
    if (casts.length > values.length) {
      throw new Error(`${casts.length} casts for a row of ${values.length} SQL parameters`);
    }
    return `(${values.map((value, i) => this.add(value, casts[i])).join(', ')})`;
  }

  /** The rows of a multi-row VALUES list, each a tuple with the same casts: `($1, $2), ($3, $4)`. */
  rows(rows: readonly (readonly unknown[])[], casts: readonly (string | null | undefined)[] = []): string {
    if (rows.length === 0) throw new Error('a VALUES list needs at least one row');
    return rows.map((row) => this.tuple(row, casts)).join(', ');
  }

  /**
   * Binds the named parameters of `sql` (`$task`, `$edges`, ...) to values of `params`: each name gets one
   * placeholder, numbered after the values already added, wherever it occurs. Throws on a name `params` lacks, and
   * on a value of `params` the SQL never names (PostgreSQL could not tell that parameter's type).
   */
  named(sql: string, params: Readonly<Record<string, unknown>>): string {
    const placeholders = new Map<string, string>();
    const text = sql.replace(NAMED, (_, name: string) => {
      if (!Object.hasOwn(params, name)) throw new Error(`unbound SQL parameter $${name}`);
      let placeholder = placeholders.get(name);
      if (placeholder === undefined) {
        placeholder = this.add(params[name]);
        placeholders.set(name, placeholder);
      }
      return placeholder;
    });
    const unused = Object.keys(params).filter((name) => !placeholders.has(name));
    if (unused.length) throw new Error(`SQL parameters never used: ${unused.map((n) => `$${n}`).join(', ')}`);
    return text;
  }
}
