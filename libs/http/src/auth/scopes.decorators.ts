import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiSecurity } from '@nestjs/swagger';
import type { KeyIdentity, Scope } from '@sepal/contracts';

export const REQUIRED_SCOPE = 'sepal:required-scope';

/** What a route needs: a scope, or `authenticated` (any valid key, whatever its scopes). */
export type RouteRequirement = Scope | 'authenticated';

/**
 * The route needs a key with this scope (`admin` implies every scope). A route with neither `@RequireScope` nor
 * `@Public` needs `admin`: forgetting the annotation fails closed, and the route table test names the route.
 */
export const RequireScope = (scope: RouteRequirement): MethodDecorator & ClassDecorator => {
  const metadata = SetMetadata(REQUIRED_SCOPE, scope);
  const security = ApiSecurity('api-key');
  return ((target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    metadata(target, key as string, descriptor as PropertyDescriptor);
    security(target, key as string, descriptor as PropertyDescriptor);
  }) as MethodDecorator & ClassDecorator;
};

/** Any valid key may call the route (e.g. GET /keys/self). */
export const Authenticated = () => RequireScope('authenticated');

export { Public, PUBLIC_ROUTE } from '@sepal/observability';

/** The anonymous caller when keys are off (loopback without SEPAL_API_KEY, or SEPAL_INSECURE=true). */
export const ANONYMOUS: KeyIdentity = { name: 'anonymous', scopes: ['admin'] };

/** Set on a request whose key the first hook (installRequestEdge) checked for its route: the guard lets it through. */
export const KEY_CHECKED = Symbol('sepal.keyChecked');

export interface RequestWithKey {
  sepalKey?: KeyIdentity;
}

/** The calling key's identity (set by the guard); its `name` is the actor the audit records. */
export const CallerKey = createParamDecorator(
  (_data: unknown, context: ExecutionContext): KeyIdentity =>
    context.switchToHttp().getRequest<RequestWithKey>().sepalKey ?? ANONYMOUS,
);

/** The calling key's name: the truthful "who" of an audited action. */
export const Actor = createParamDecorator(
  (_data: unknown, context: ExecutionContext): string =>
    (context.switchToHttp().getRequest<RequestWithKey>().sepalKey ?? ANONYMOUS).name,
);
