import type { ContainerType, ResolverData } from 'type-graphql';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a class of any constructor signature
type Class<T> = abstract new (...args: any[]) => T;

/**
 * What type-graphql asks for resolvers and middleware classes: the instances createApp built, and
 * nothing else. A class that was not registered is a wiring mistake, reported at once.
 */
export class ServiceContainer implements ContainerType {
  private readonly instances = new Map<Class<unknown>, unknown>();

  set<T>(type: Class<T>, instance: T): this {
    this.instances.set(type, instance);
    return this;
  }

  get<T>(type: Class<T>, _resolverData?: ResolverData): T {
    if (!this.instances.has(type)) throw new Error(`${type.name} was not registered in createApp`);
    return this.instances.get(type) as T;
  }
}
