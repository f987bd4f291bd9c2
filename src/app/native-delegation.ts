// Runs inside the worker threads. WorkerRequest and WorkerResponse answer a
// few members themselves and hand every other member of the native class's
// prototype to a native object built on first need.

/**
 * Defines on `target` each method and getter of `nativePrototype` that
 * `target` lacks, calling it on `toNative(this)` instead.
 */
export function delegateToNative<T>(target: object, nativePrototype: object, toNative: (self: T) => object): void {
  for (const key of Object.getOwnPropertyNames(nativePrototype)) {
    if (key === 'constructor' || Object.hasOwn(target, key)) continue;
    const descriptor = Object.getOwnPropertyDescriptor(nativePrototype, key)!;
    if (typeof descriptor.value === 'function') {
      const method = descriptor.value as (...args: unknown[]) => unknown;
      Object.defineProperty(target, key, {
        value(this: T, ...args: unknown[]) {
          return method.apply(toNative(this), args);
        },
        configurable: true,
        writable: true,
      });
    } else if (descriptor.get !== undefined) {
      const get = descriptor.get;
      Object.defineProperty(target, key, {
        get(this: T) {
          return get.call(toNative(this));
        },
        configurable: true,
      });
    }
  }
  Object.setPrototypeOf(target, nativePrototype);
}
