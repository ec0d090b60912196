import { ServiceCallError } from '@sepal/http-client';
import { describeServiceError, serviceClient } from './service-client';

describe('the CLI service client', () => {
  const urls = { data: 'http://127.0.0.1:1', registry: 'x', trainer: 'x', inference: 'x' };

  it('says where an unreachable service was looked for and how to point the CLI at it', async () => {
    const error = (await serviceClient({ urls }, 'data')
      .get('/datasets')
      .catch((e: unknown) => e)) as ServiceCallError;
    expect(error.status).toBeNull();
    expect(describeServiceError(error)).toMatch(
      /^error: cannot reach the data service at http:\/\/127\.0\.0\.1:1\/datasets \(.+\)\nhint: Start it \(npm start, or npm run start:data\) or point SEPAL_DATA_URL at it\.\n$/,
    );
  });

  it("prints a refusal as the service's own message and hint", () => {
    const refused = new ServiceCallError('data', 'GET', 'u', 404, "unknown dataset 'nope'", 'Known: iris.');
    expect(describeServiceError(refused)).toBe("error: unknown dataset 'nope'\nhint: Known: iris.\n");
  });

  it('names the URL when a successful answer breaks its contract', () => {
    const broken = new ServiceCallError(
      'data',
      'GET',
      'http://h/v',
      200,
      'answer does not match the contract',
    );
    expect(describeServiceError(broken)).toBe(
      'error: data: GET http://h/v answered 200: answer does not match the contract\n',
    );
  });
});
