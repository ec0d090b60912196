/**
 * @deprecated Routes name what they need with `@RequireScope(...)` (or `@Public()`); an unannotated route needs
 * `admin`. Kept so code written against the single shared key still compiles: it adds nothing.
 */
export const ChangesState = (): MethodDecorator & ClassDecorator => () => undefined;
