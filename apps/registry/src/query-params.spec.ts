import { auditQuerySchema, InvalidInputError, keyListQuerySchema } from '@sepal/contracts';
import { ZodValidationPipe } from '@sepal/http';

// Fastify hands a repeated query parameter over as an array: each scalar parameter of the registry's routes is
// validated, so `?alias=a&alias=b` is a 400 naming `alias`, not a filter that silently matches nothing.
describe('the registry query parameters', () => {
  const audit = new ZodValidationPipe(auditQuerySchema, 'query');
  const keys = new ZodValidationPipe(keyListQuerySchema, 'query');

  it('reads a single value and its absence', () => {
    expect(audit.transform({ alias: 'champion' })).toEqual({ alias: 'champion' });
    expect(audit.transform({})).toEqual({});
    expect(keys.transform({ all: 'true' })).toEqual({ all: true });
    expect(keys.transform({ all: 'false' })).toEqual({ all: false });
    expect(keys.transform(undefined)).toEqual({ all: false });
  });

  it('refuses a repeated parameter with a 400 naming it', () => {
    expect(() => audit.transform({ alias: ['a', 'b'] })).toThrow(InvalidInputError);
    expect(() => audit.transform({ alias: ['a', 'b'] })).toThrow(/invalid query: alias/);
    expect(() => keys.transform({ all: ['true', 'true'] })).toThrow(/invalid query: all/);
  });

  it('refuses a value ?all= does not know instead of reading it as false', () => {
    expect(() => keys.transform({ all: 'yes' })).toThrow(/invalid query: all/);
  });
});
