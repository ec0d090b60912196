import type { FuzzRequest } from './requests';
import type { World } from './routes';

type Regression = Omit<FuzzRequest, 'mutation'> & { found: string; status: number };

const json = 'application/json';
const manyEntries = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));

/**
 * Requests the fuzzer once answered with a 5xx, as they were sent (with the names and ids of the stack they hit);
 * the suite replays every one before the generated requests. Each says what was wrong and what answers now.
 */
export function regressions(world: World): (FuzzRequest & { status: number })[] {
  const [run] = world.runIds;
  const list: Regression[] = [
    // The aliases of a model were read into a plain object: an alias named `constructor` found Object's constructor,
    // which went on to the SQL of the move (PUT) or the version lookup (GET) as a 500. They have no prototype now.
    {
      app: 'registry',
      method: 'PUT',
      url: `/models/${world.modelName}/aliases/constructor`,
      contentType: json,
      body: JSON.stringify({ version: world.versions[0] }),
      found: 'an alias named like a member of Object.prototype',
      status: 200,
    },
    // An error from a route that answers text/csv was sent as an object under that type: fastify refused to
    // serialize it (500 "Attempted to send payload of invalid type 'object'"). Errors are always JSON now.
    {
      app: 'data',
      method: 'GET',
      url: '/datasets/unknown/versions/v1/export.csv',
      found: 'export of an unknown dataset',
      status: 404,
    },
    {
      app: 'data',
      method: 'GET',
      url: '/datasets/iris/versions/latest/export.csv?split=1.5',
      found: 'bad split',
      status: 400,
    },
    {
      app: 'data',
      method: 'GET',
      url: '/datasets/iris/versions/%F0%96%A5%92/export.csv',
      found: 'not a version reference',
      status: 400,
    },
    // The NUL-character check (libs/http) walked a streamed CSV body, a graph of sockets with cycles, until the
    // process ran out of memory. Only parsed JSON is walked now; this answers the import's own 400.
    {
      app: 'data',
      method: 'POST',
      url: '/datasets/FuzzModel/import',
      contentType: 'text/plain',
      body: '{"content":"\\n\\n"}',
      found: 'CSV upload of a new dataset without a target',
      status: 400,
    },
    // Integers beyond PostgreSQL's integer reached a query (500 "out of range for type integer"): 400 naming the max.
    {
      app: 'registry',
      method: 'GET',
      url: '/models/iris/versions/99999999999999999999/lineage',
      found: 'version beyond int4 in a path',
      status: 400,
    },
    {
      app: 'registry',
      method: 'GET',
      url: `/models/${world.modelName}/versions/2147483648`,
      found: 'version 2^31',
      status: 400,
    },
    {
      app: 'registry',
      method: 'PUT',
      url: `/models/${world.modelName}/aliases/challenger`,
      contentType: json,
      body: '{"version":99999999999999999999}',
      found: 'alias move to a version beyond int4 (the same bound, in a body)',
      status: 400,
    },
    {
      app: 'data',
      method: 'GET',
      url: '/datasets/iris/versions/latest/rows?cursor=8164883057470031&limit=7946',
      found: 'rows cursor beyond int4',
      status: 400,
    },
    {
      app: 'registry',
      method: 'POST',
      url: `/runs/${run}/metrics`,
      contentType: json,
      body: '{"metrics":[{"key":"loss","value":1,"step":100000000000000000000}]}',
      found: 'metric step beyond int8 (the same kind of bound, added with the fix)',
      status: 400,
    },
    // A NUL character reached PostgreSQL (500 "invalid byte sequence for encoding UTF8: 0x00"): 400 naming where.
    { app: 'registry', method: 'GET', url: '/models/%00/versions/1', found: 'NUL in a path', status: 400 },
    {
      app: 'registry',
      method: 'GET',
      url: '/runs?filter=%00',
      found: 'NUL in a query (refused with the rest)',
      status: 400,
    },
    {
      app: 'registry',
      method: 'POST',
      url: '/experiments',
      contentType: json,
      body: '{"name":"a\\u0000b"}',
      found: 'NUL in a body string',
      status: 400,
    },
    {
      app: 'data',
      method: 'POST',
      url: '/datasets/iris/feedback',
      contentType: json,
      body: JSON.stringify({
        features: world.features.map(() => 5),
        label: world.labels[0],
        source: 'x\u0000',
      }),
      found: 'NUL in feedback',
      status: 400,
    },
    {
      app: 'registry',
      method: 'POST',
      url: '/runs',
      contentType: json,
      body: '{"experiment":"fuzz","tags":{"k\\u0000":"v"}}',
      found: 'NUL in a key',
      status: 400,
    },
    // Half of a surrogate pair reached PostgreSQL's json (500 "invalid input syntax for type json"): refused like a
    // NUL, with a 400 naming where; on the gateway's lean path too, which leaves any surrogate escape to Fastify.
    {
      app: 'registry',
      method: 'POST',
      url: '/experiments?limit=-1',
      contentType: json,
      body: '{"name":"fuzz-surrogate","tags":{"At;N@RIt1LJe":"\\ud800"}}',
      found: 'lone high surrogate in a tag value (CI seed 784475515)',
      status: 400,
    },
    {
      app: 'registry',
      method: 'POST',
      url: '/runs',
      contentType: json,
      body: '{"experiment":"fuzz","tags":{"\\udc00":"v"}}',
      found: 'lone low surrogate in a key',
      status: 400,
    },
    {
      app: 'inference',
      method: 'POST',
      url: '/predict',
      contentType: json,
      body: '{"features":{"a":"\\ud800"}}',
      found: 'lone surrogate on the lean predict path',
      status: 400,
    },
    // A version registered under a path name the contract refuses (' ', or over 200 characters) created that model;
    // the gateway then found it in the registry's list and failed each lookup of it on the contract (a 503 naming
    // the registry). The path name is checked like POST /models's now.
    {
      app: 'registry',
      method: 'POST',
      url: '/models/%20/versions',
      contentType: json,
      body: JSON.stringify({ runId: run, sha256: world.modelSha256 }),
      found: 'a version under a blank model name (seed 1001)',
      status: 400,
    },
    {
      app: 'registry',
      method: 'POST',
      url: '/models/iris%20/versions',
      contentType: json,
      body: JSON.stringify({ runId: run, sha256: world.modelSha256 }),
      found: 'a version under a model name with a trailing space',
      status: 400,
    },
    // A shadow version beyond PostgreSQL's integer reached the version lookup (500 "out of range for type
    // integer"): the contract bounds it like every version number now, and the 400 names the bound.
    {
      app: 'registry',
      method: 'PUT',
      url: `/models/${world.modelName}/traffic`,
      contentType: json,
      body: JSON.stringify({ weights: { [world.versions[0]]: 100 }, shadow: 2 ** 31 }),
      found: 'shadow version 2^31 (targeted seed 2001)',
      status: 400,
    },
    // A repeated scalar query parameter arrives as an array: the audit filtered on it and answered 200 [], the key
    // list read it as false. Each is validated now, and the 400 names the parameter.
    {
      app: 'registry',
      method: 'GET',
      url: `/models/${world.modelName}/audit?alias=a&alias=b`,
      found: 'a repeated ?alias= on the audit (200 [])',
      status: 400,
    },
    {
      app: 'registry',
      method: 'GET',
      url: '/keys?all=true&all=false',
      found: 'a repeated ?all= on the key list',
      status: 400,
    },
    // An experiment took 20,000 tags (201): tags and params have configured limits now (REGISTRY_MAX_TAGS,
    // REGISTRY_MAX_PARAMS), and going over one is a 400 naming it.
    {
      app: 'registry',
      method: 'POST',
      url: '/experiments',
      contentType: json,
      body: JSON.stringify({ name: 'fuzz-many-tags', tags: manyEntries(20_000) }),
      found: 'an experiment with 20,000 tags (201)',
      status: 400,
    },
    {
      app: 'registry',
      method: 'POST',
      url: '/runs',
      contentType: json,
      body: JSON.stringify({ experiment: 'fuzz', params: manyEntries(501) }),
      found: 'a run with one param over REGISTRY_MAX_PARAMS',
      status: 400,
    },
  ];
  return list.map(({ found, ...request }) => ({ ...request, mutation: `regression: ${found}` }));
}
