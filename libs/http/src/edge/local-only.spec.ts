import { hostName, localOnlyRefusal, parseAllowedHosts } from './local-only';

const post = (headers: Record<string, string>, prediction = false) =>
  localOnlyRefusal(
    {
      method: 'POST',
      headers: {
        host: '127.0.0.1:3001',
        'content-type': 'application/json',
        'content-length': '2',
        ...headers,
      },
      prediction,
    },
    ['sepal.lan'],
  );

describe('localOnlyRefusal (keys off: this machine only)', () => {
  it.each([
    ['localhost:3000', 'localhost'],
    ['127.0.0.1', '127.0.0.1'],
    ['[::1]:3000', '::1'],
    ['[::1]', '::1'],
    ['Example.COM:80', 'example.com'],
  ])('reads the host name of %s', (authority, name) => {
    expect(hostName(authority)).toBe(name);
  });

  it('parses SEPAL_ALLOWED_HOSTS', () => {
    expect(parseAllowedHosts(' a.lan, B.lan ,,')).toEqual(['a.lan', 'b.lan']);
    expect(parseAllowedHosts(undefined)).toEqual([]);
  });

  it.each([
    ['localhost:8080', undefined],
    ['127.0.0.5', undefined],
    ['[::1]:3000', undefined],
    ['sepal.lan:3000', undefined],
    ['attacker.example:3000', 421],
    ['127.0.0.1.nip.io', 421],
    ['', 421],
  ])('answers GET with Host %j: %s', (host, status) => {
    const refusal = localOnlyRefusal({ method: 'GET', headers: { host } }, ['sepal.lan']);
    expect(refusal?.statusCode).toBe(status);
  });

  it('answers any Host with SEPAL_ALLOWED_HOSTS=*', () => {
    expect(localOnlyRefusal({ method: 'GET', headers: { host: 'anything' } }, ['*'])).toBeUndefined();
  });

  it('lets a cross-site navigation open a page, and refuses any other cross-site or same-site request', () => {
    const get = (headers: Record<string, string>) =>
      localOnlyRefusal({ method: 'GET', headers: { host: 'localhost:8080', ...headers } }, [])?.statusCode;
    expect(get({ 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' })).toBeUndefined();
    expect(get({ 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors' })).toBe(403);
    expect(get({ 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'no-cors' })).toBe(403);
    expect(get({ 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' })).toBeUndefined();
    expect(get({ 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate' })).toBeUndefined();
  });

  it.each([
    ['its own origin', { origin: 'http://127.0.0.1:3001', 'x-sepal-client': '1' }, undefined],
    ['no origin (a program)', { 'x-sepal-client': '1' }, undefined],
    ['a key header instead of the client header', { 'x-api-key': 'k' }, undefined],
    ['another port', { origin: 'http://127.0.0.1:8080', 'x-sepal-client': '1' }, 403],
    ['another site', { origin: 'http://evil.example', 'x-sepal-client': '1' }, 403],
    ['a sandboxed page (Origin: null)', { origin: 'null', 'x-sepal-client': '1' }, 403],
    ['a form post', { 'content-type': 'application/x-www-form-urlencoded', 'x-sepal-client': '1' }, 415],
    ['text/plain', { 'content-type': 'text/plain;charset=UTF-8', 'x-sepal-client': '1' }, 415],
    ['CSV', { 'content-type': 'text/csv', 'x-sepal-client': '1' }, undefined],
    ['no client header', {}, 403],
  ])('answers a state change from %s: %s', (_case, headers, status) => {
    expect(post(headers)?.statusCode).toBe(status);
  });

  it('asks no client header of a prediction, but still a JSON body and no other site', () => {
    expect(post({}, true)).toBeUndefined();
    expect(post({ 'content-type': 'text/plain' }, true)?.statusCode).toBe(415);
    expect(post({ origin: 'http://evil.example' }, true)?.statusCode).toBe(403);
  });

  it('asks no content type of a state change without a body', () => {
    const refusal = localOnlyRefusal(
      { method: 'DELETE', headers: { host: 'localhost:3002', 'x-sepal-client': '1' } },
      [],
    );
    expect(refusal).toBeUndefined();
  });
});
