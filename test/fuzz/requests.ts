import fc from 'fast-check';
import { arbitraryFromSchema, jsonSchemaOf } from './schema-arbitrary';
import { AppName, Route, RouteSpec, specOf, World } from './routes';

/** One HTTP request, replayable: what the suite sends and what a regression example records. */
export interface FuzzRequest {
  app: AppName;
  method: string;
  /** Path and query, already encoded as sent (it may hold malformed escapes on purpose). */
  url: string;
  contentType?: string;
  body?: string;
  /** Headers that replace the suite's own (its admin key); an empty value removes one. */
  headers?: Record<string, string>;
  /** What was done to it, for the failure report. */
  mutation: string;
}

// ---- nasty values ------------------------------------------------------------------------------------------------

const HUGE_AND_NEGATIVE = [
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER + 2,
  -Number.MAX_SAFE_INTEGER - 2,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 64,
  1e21,
  5e-324,
  -1,
  0,
  -0.5,
  1.5,
];

const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\u202eevil',
  '\ufeff',
  'İstanbul',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  '😀👍🏽',
  'NaN',
  'Infinity',
  '-1',
  '1e400',
  'true',
  'null',
  '../../etc/passwd',
  "'; DROP TABLE x; --",
  '%s%n%x',
  '${jndi:x}',
  '<script>alert(1)</script>',
  '\r\nX-Injected: 1',
];

const longString = fc
  .tuple(
    fc.constantFrom(1_000, 1_000, 10_000, 10_000, 100_000),
    fc.constantFrom('a', 'é', '😀', '\u0000', ' ', '9'),
  )
  .map(([n, c]) => c.repeat(n));

const wrongType = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 10 }),
  fc.constant([]),
  fc.constant({}),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
);

const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: wrongType },
  { weight: 2, arbitrary: fc.constantFrom(...HUGE_AND_NEGATIVE) },
  { weight: 2, arbitrary: fc.constantFrom(...ODD_STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: longString },
);

/** A JSON text nested `depth` levels deep (built as text: JSON.stringify would overflow the stack). */
const deepJson = (depth: number, kind: 'array' | 'object') =>
  kind === 'array'
    ? `${'['.repeat(depth)}${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

const DEEP = '"\u0001deep\u0001"';

/** Number literals JSON allows that no JavaScript number prints as: overflow to Infinity, underflow, 30 digits, -0. */
const RAW_NUMBERS = [
  '1e400',
  '-1e400',
  '1E-400',
  '123456789012345678901234567890',
  '-123456789012345678901234567890.5',
  '-0',
  '0.0000000000000000000000000000001',
  '1.0',
  '2147483648',
  '9007199254740993',
];

/** Object keys that trip naive code: prototype members, half a surrogate pair, NUL, empty, very long. */
const ODD_KEYS = [
  'constructor',
  'toString',
  'hasOwnProperty',
  '__proto__',
  'prototype',
  '\ud800',
  '\udfff',
  '\u0000',
  '',
  ' ',
  'a.b',
  'k'.repeat(1_000),
  '😀',
];

/** `{"k0":0,…}` with `n` keys, as text (cheap to build, and what a client can send under the body limit). */
const wideObject = (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":${i % 10}`).join(',')}}`;

// ---- body mutations ----------------------------------------------------------------------------------------------

type Path = (string | number)[];

function pathsOf(value: unknown, prefix: Path = [], depth = 0): Path[] {
  if (depth > 3 || value === null || typeof value !== 'object') return [];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return entries.flatMap(([key, child]) => [
    [...prefix, key],
    ...pathsOf(child, [...prefix, key], depth + 1),
  ]);
}

function withAt(
  value: unknown,
  path: Path,
  replace: (parent: Record<string | number, unknown>, key: string | number) => void,
): unknown {
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  replace(parent, path[path.length - 1]);
  return copy;
}

interface Body {
  text: string;
  mutation: string;
}

const json = (value: unknown, mutation: string): Body => ({
  text: JSON.stringify(value) ?? 'null',
  mutation,
});

/** A valid body broken in one place: a field's type or value, a missing or extra field, or the whole document. */
function mutatedBody(valid: fc.Arbitrary<unknown>): fc.Arbitrary<Body> {
  const atField = fc
    .tuple(
      valid,
      fc.nat(),
      nastyValue,
      fc.constantFrom('replace', 'replace', 'delete', 'extra', 'deep', 'raw number', 'odd key', 'wide'),
      fc.integer({ min: 2, max: 5_000 }),
    )
    .map(([value, index, nasty, kind, depth]): Body => {
      const paths = pathsOf(value);
      if (paths.length === 0) return json({ unexpected: nasty }, 'extra field on an empty body');
      const path = paths[index % paths.length];
      const where = path.join('.');
      switch (kind) {
        case 'delete':
          return json(
            withAt(value, path, (parent, key) => {
              if (Array.isArray(parent)) parent.splice(Number(key), 1);
              else delete parent[key];
            }),
            `without ${where}`,
          );
        case 'extra':
          return json(
            withAt(value, path, (parent) => {
              if (!Array.isArray(parent)) parent[`extra_${index % 7}`] = nasty;
            }),
            `extra field beside ${where}`,
          );
        case 'raw number': {
          const raw = RAW_NUMBERS[(index + depth) % RAW_NUMBERS.length];
          return {
            text: JSON.stringify(
              withAt(value, path, (parent, key) => (parent[key] = DEEP.slice(1, -1))),
            ).replace(DEEP, raw),
            mutation: `${where} = ${raw} (raw JSON number)`,
          };
        }
        case 'odd key': {
          const oddKey = ODD_KEYS[(index + depth) % ODD_KEYS.length];
          return json(
            withAt(value, path, (parent, key) => {
              if (Array.isArray(parent)) return;
              // Defined, not assigned: `__proto__` stays an own key, as JSON.parse would make it.
              Object.defineProperty(parent, oddKey, {
                value: parent[key],
                enumerable: true,
                configurable: true,
                writable: true,
              });
              if (oddKey !== key) delete parent[key];
            }),
            `key ${where} renamed ${describe(oddKey)}`,
          );
        }
        case 'wide': {
          const n = [1_000, 10_000, 50_000][depth % 3];
          const wide = depth % 2 ? `[${'7,'.repeat(n - 1)}7]` : wideObject(n);
          return {
            text: JSON.stringify(
              withAt(value, path, (parent, key) => (parent[key] = DEEP.slice(1, -1))),
            ).replace(DEEP, wide),
            mutation: `${where} = ${depth % 2 ? 'array' : 'object'} of ${n} ${depth % 2 ? 'items' : 'keys'}`,
          };
        }
        case 'deep':
          return {
            text: JSON.stringify(
              withAt(value, path, (parent, key) => (parent[key] = DEEP.slice(1, -1))),
            ).replace(DEEP, deepJson(depth, depth % 2 ? 'array' : 'object')),
            mutation: `${where} nested ${depth} levels deep`,
          };
        default:
          return json(
            withAt(value, path, (parent, key) => (parent[key] = nasty)),
            `${where} = ${describe(nasty)}`,
          );
      }
    });
  const whole = fc.oneof(
    nastyValue.map((v) => json(v, `whole body = ${describe(v)}`)),
    fc.jsonValue({ maxDepth: 3 }).map((v) => json(v, 'whole body = random JSON')),
    fc
      .integer({ min: 1_000, max: 100_000 })
      .map((d) => ({ text: deepJson(d, 'array'), mutation: `body nested ${d} deep` })),
    fc
      .integer({ min: 1_000, max: 100_000 })
      .map((d) => ({ text: deepJson(d, 'object'), mutation: `object nested ${d} deep` })),
    fc
      .constantFrom(
        '{',
        '{"a":1',
        '[1,]',
        'NaN',
        "{'a':1}",
        '',
        ' ',
        '\u0000',
        `1${'0'.repeat(400)}`,
        '{"a":1}{"b":2}',
      )
      .map((text) => ({ text, mutation: `malformed JSON ${JSON.stringify(text)}` })),
    fc.constantFrom(10_000, 60_000).map((n) => ({ text: wideObject(n), mutation: `object of ${n} keys` })),
    fc
      .constantFrom(1.5, 3)
      .map((mb) => ({ text: `"${'x'.repeat(mb * 1024 * 1024)}"`, mutation: `body of ${mb} MB` })),
    fc
      .constantFrom('{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}')
      .map((text) => ({ text, mutation: 'prototype pollution attempt' })),
  );
  return fc.oneof({ weight: 4, arbitrary: atField }, { weight: 1, arbitrary: whole });
}

function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value));
  return text.length > 60 ? `${text.slice(0, 40)}… (${text.length} chars)` : text;
}

const CONTENT_TYPES = [
  'text/plain',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/octet-stream',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'image/png',
  'application/json, text/plain',
  ';;;',
];

// ---- path and query ----------------------------------------------------------------------------------------------

const NASTY_SEGMENTS = [
  '-1',
  '0',
  '1.5',
  '99999999999999999999',
  '1e400',
  'NaN',
  'null',
  'undefined',
  '%00',
  '%ZZ',
  '%',
  '%2e%2e',
  '%2F',
  '..',
  '.',
  '%20',
  '%E2%80%AE',
  '%F0%9F%98%80',
  '%C0%AF',
  // Half a surrogate pair as UTF-8 would encode it (not valid UTF-8), truncated and out-of-range sequences.
  '%ED%A0%80',
  '%ED%BF%BF',
  '%F0%9F',
  '%FF',
  '%F4%90%80%80',
  '%EF%BF%BF',
  'e%CC%81',
  'a'.repeat(100),
  'a'.repeat(101),
  'a'.repeat(5000),
  '__proto__',
  'constructor',
  "'",
  '%22',
];

function realisticSegment(name: string, world: World): string[] {
  switch (name) {
    case 'name':
      return [world.dataset, world.modelName, 'unknown'];
    case 'model':
      return [world.modelName, world.modelName, world.dataset, 'unknown'];
    case 'version':
      return world.versions.map(String);
    case 'alias':
      return ['champion', 'challenger', 'canary'];
    case 'ref':
      return ['latest', 'v1', 'v2', 'v0', 'v-1', 'v99999999999', 'v1.5'];
    case 'id':
    case 'idOrName':
      return [...world.runIds, '00000000-0000-0000-0000-000000000000', 'fuzz'];
    case 'sha256':
      return [world.modelSha256, '0'.repeat(64)];
    case 'key':
      return ['accuracy', 'loss'];
    default:
      return ['x'];
  }
}

const segment = (name: string, world: World): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...realisticSegment(name, world)) },
    { weight: 2, arbitrary: fc.constantFrom(...NASTY_SEGMENTS) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }).map(encodeURIComponent) },
  );

function pathArbitrary(route: Route, world: World): fc.Arbitrary<string> {
  const parts = route.path.split('/').slice(1);
  return fc
    .tuple(...parts.map((part) => (part.startsWith(':') ? segment(part.slice(1), world) : fc.constant(part))))
    .map((values) => `/${values.join('/')}`);
}

/** `s` with lone surrogates replaced (they have no UTF-8 form, so no URL can carry them). */
const wellFormed = (s: string) =>
  s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');

const queryValue = (value: unknown) =>
  typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value);

const QUERY_SHAPES: [string, (key: string, value: string) => string][] = [
  ['repeated', (k, v) => `${k}=${encodeURIComponent(v)}&${k}=${encodeURIComponent(v)}x`],
  ['repeated thrice', (k, v) => `${k}=${encodeURIComponent(v)}&${k}=&${k}=1`],
  ['as array', (k, v) => `${k}[]=${encodeURIComponent(v)}`],
  ['as object', (k, v) => `${k}[a]=${encodeURIComponent(v)}`],
  ['without value', (k) => k],
  ['empty', (k) => `${k}=`],
  ['half a surrogate pair', (k) => `${k}=%ED%A0%80`],
  ['truncated UTF-8', (k) => `${k}=%F0%9F`],
  ['lone surrogate key', () => '%ED%A0%80=1'],
  ['huge number', (k) => `${k}=${'9'.repeat(400)}`],
  ['1e308', (k) => `${k}=1e308`],
  ['long', (k) => `${k}=${'q'.repeat(20_000)}`],
];

function queryArbitrary(spec: RouteSpec): fc.Arbitrary<{ query: string; mutation?: string }> {
  const valid = spec.query ? arbitraryFromSchema(jsonSchemaOf(spec.query)) : fc.constant({});
  const encoded = (pairs: [string, string][]) =>
    pairs
      .map(([k, v]) => `${encodeURIComponent(wellFormed(k))}=${encodeURIComponent(wellFormed(v))}`)
      .join('&');
  const base = valid.map((q) =>
    Object.entries((q ?? {}) as Record<string, unknown>).map(
      ([k, v]) => [k, queryValue(v)] as [string, string],
    ),
  );
  return fc.oneof(
    ...(spec.realisticQuery
      ? [{ weight: 3, arbitrary: spec.realisticQuery.map((query) => ({ query })) }]
      : []),
    { weight: 3, arbitrary: base.map((pairs) => ({ query: encoded(pairs) })) },
    {
      weight: 2,
      arbitrary: fc.tuple(base, fc.nat(), nastyValue).map(([pairs, index, nasty]) => {
        const keys = pairs.length ? pairs.map(([k]) => k) : ['limit'];
        const key = keys[index % keys.length];
        const value = typeof nasty === 'string' ? nasty : (JSON.stringify(nasty) ?? '');
        const rest = pairs.filter(([k]) => k !== key);
        return { query: encoded([...rest, [key, value]]), mutation: `query ${key}=${describe(nasty)}` };
      }),
    },
    {
      // A known parameter in a form a client may send but the schema does not describe: repeated (an array to
      // Fastify), bracketed, empty, undecodable bytes, a key that is half a surrogate pair, a huge number.
      weight: 1,
      arbitrary: fc
        .tuple(base, fc.nat(), fc.constantFrom(...QUERY_SHAPES))
        .map(([pairs, index, [shape, form]]) => {
          const keys = pairs.length ? pairs.map(([k]) => k) : ['limit', 'alias', 'all'];
          const key = encodeURIComponent(keys[index % keys.length]);
          const rest = encoded(pairs.filter(([k]) => encodeURIComponent(k) !== key));
          const odd = form(key, pairs.find(([k]) => encodeURIComponent(k) === key)?.[1] ?? '1');
          return { query: rest ? `${rest}&${odd}` : odd, mutation: `query ${shape} ${key}` };
        }),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          'limit=1&limit=2',
          'limit[]=1',
          'limit=-1',
          'limit=1e400',
          'limit=0x10',
          'cursor=99999999999999999999',
          'maxResults=-5',
          '__proto__=1',
          'a=%ZZ',
          '&&&==',
          `filter=${'('.repeat(2000)}`,
          'filter=metrics.accuracy%20%3E%20%27x%27',
          'orderBy=metrics.f1%20desc;%20DROP',
          'state=ALL',
          'split=validation',
        )
        .map((query) => ({ query, mutation: `query ${query.slice(0, 40)}` })),
    },
  );
}

// ---- CSV uploads -------------------------------------------------------------------------------------------------

const csvCell = fc.oneof(
  { weight: 4, arbitrary: fc.double({ min: -1e3, max: 1e3, noNaN: true }).map(String) },
  { weight: 2, arbitrary: fc.constantFrom('a', 'b', 'c', 'Iris-setosa', 'x y') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      'NA',
      '?',
      '"quoted, cell"',
      '"unclosed',
      'a""b',
      '"a"b',
      '1e400',
      '-0',
      '\u202e',
      ' ',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);

/** A delimited file: a header (mostly) of f0..fn and `label`, rows of numbers, classes and odd cells. */
const csvText: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(',', ';', '\t'),
    fc.integer({ min: 1, max: 5 }),
    fc.boolean(),
    fc.constantFrom('\n', '\r\n'),
  )
  .chain(([delimiter, columns, header, newline]) =>
    fc
      .array(fc.array(csvCell, { minLength: columns, maxLength: columns + (columns % 2) }), { maxLength: 40 })
      .map((rows) => {
        const names = [...Array.from({ length: columns - 1 }, (_, i) => `f${i}`), 'label'];
        return [...(header ? [names] : []), ...rows].map((row) => row.join(delimiter)).join(newline);
      }),
  );

// ---- the edge: who a request claims to be, and where from ----------------------------------------------------

/**
 * What the key check in the first hook and the limits before it see: no key, an unknown or oversized one, a forged
 * X-Forwarded-For (no proxy is trusted here), a page on another site. Each must be a 4xx or served, never a 5xx.
 */
const EDGE_HEADERS: { headers: Record<string, string>; mutation: string }[] = [
  { headers: { 'x-api-key': '' }, mutation: 'no key' },
  { headers: { 'x-api-key': `sepal_${'f'.repeat(40)}` }, mutation: 'unknown key' },
  { headers: { 'x-api-key': 'k'.repeat(16 * 1024) }, mutation: 'key of 16 KiB' },
  { headers: { 'x-api-key': '', authorization: 'Bearer not a key' }, mutation: 'bearer garbage' },
  { headers: { 'x-forwarded-for': '203.0.113.7, 10.0.0.1' }, mutation: 'forged X-Forwarded-For' },
  {
    headers: { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
    mutation: 'from another site',
  },
];

const edgeHeaders = fc.oneof(
  { weight: 9, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom(...EDGE_HEADERS) },
);

// ---- whole requests ----------------------------------------------------------------------------------------------

/** Requests to one route: valid ones from its schema, and each broken in one way. */
export function requestArbitrary(route: Route, world: World): fc.Arbitrary<FuzzRequest> {
  const spec = specOf(route) ?? { body: undefined };
  const generic = specOf(route) === undefined;
  const takesBody = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method);
  // A route with realistic bodies but no contract schema (e.g. POST /v2/repository/index) uses them alone.
  const validBody: fc.Arbitrary<unknown> = fc.oneof(
    spec.body ? arbitraryFromSchema(jsonSchemaOf(spec.body)) : fc.jsonValue({ maxDepth: 2 }),
    ...(spec.realistic ? [spec.realistic(world), spec.realistic(world)] : []),
  );

  const body: fc.Arbitrary<Body & { contentType?: string }> = !takesBody
    ? fc.constant({ text: '', mutation: '' })
    : spec.csv
      ? fc.oneof(
          {
            weight: 3,
            arbitrary: csvText.map((text) => ({ text, contentType: 'text/csv', mutation: 'CSV' })),
          },
          {
            weight: 1,
            arbitrary: fc
              .tuple(
                csvText,
                fc.constantFrom('text/plain', 'application/octet-stream', 'text/csv; charset=latin1'),
              )
              .map(([text, contentType]) => ({ text, contentType, mutation: `CSV as ${contentType}` })),
          },
          { weight: 1, arbitrary: mutatedBody(validBody) },
        )
      : spec.rawBody
        ? fc.oneof(
            fc.uint8Array({ maxLength: 200 }).map((bytes) => ({
              text: Buffer.from(bytes).toString('latin1'),
              contentType: 'application/octet-stream',
              mutation: 'random bytes',
            })),
            mutatedBody(fc.jsonValue()).map((b) => ({ ...b, contentType: 'application/json' })),
          )
        : fc.oneof(
            { weight: 2, arbitrary: validBody.map((v) => json(v, 'valid')) },
            { weight: 6, arbitrary: mutatedBody(validBody) },
            {
              weight: 1,
              arbitrary: fc
                .tuple(validBody, fc.constantFrom(...CONTENT_TYPES))
                .map(([v, contentType]) => ({ ...json(v, `content-type ${contentType}`), contentType })),
            },
            {
              weight: 1,
              arbitrary: validBody.map((v) => ({ ...json(v, 'no content-type'), contentType: '' })),
            },
          );

  return fc
    .tuple(pathArbitrary(route, world), queryArbitrary(spec), body, edgeHeaders)
    .map(([path, query, b, edge]): FuzzRequest => {
      const mutations = [
        generic ? 'generic' : '',
        b.mutation,
        query.mutation ?? '',
        edge?.mutation ?? '',
      ].filter(Boolean);
      return {
        app: route.app,
        method: route.method,
        url: query.query ? `${path}?${query.query}` : path,
        contentType: takesBody ? (b.contentType ?? 'application/json') : undefined,
        body: takesBody && b.text !== '' ? b.text : takesBody && b.mutation ? b.text : undefined,
        ...(edge ? { headers: edge.headers } : {}),
        mutation: mutations.join('; ') || 'valid',
      };
    });
}
