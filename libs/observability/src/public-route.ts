import { SetMetadata } from '@nestjs/common';

export const PUBLIC_ROUTE = 'sepal:public';

/**
 * Open on purpose, with no key: health probes, discovery, key verification. Keep the list short; every other route
 * needs a key (see `RequireScope` in @sepal/http).
 */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);
