import {
  DynamicModule,
  Global,
  Inject,
  InjectionToken,
  Module,
  ModuleMetadata,
  OnApplicationShutdown,
  OptionalFactoryDependency,
} from '@nestjs/common';
import { createEventBus } from '../create-event-bus';
import { EventBus } from '../event-bus';
import {
  MESSAGING_OPTIONS,
  MessagingOptions,
  ResolvedMessagingOptions,
  resolveMessagingOptions,
} from '../messaging-options';
import { BrokerHealth } from './broker-health.service';
import { EventTransport } from './event-transport';

export interface MessagingModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  useFactory: (...args: never[]) => MessagingOptions | Promise<MessagingOptions>;
}

const sharedProviders = [
  {
    provide: EventBus,
    useFactory: (options: ResolvedMessagingOptions) => createEventBus(options),
    inject: [MESSAGING_OPTIONS],
  },
  { provide: EventTransport, useFactory: (bus: EventBus) => new EventTransport(bus), inject: [EventBus] },
  BrokerHealth,
];

/** Provides EventBus and EventTransport to the whole application and closes the connection on shutdown. */
@Global()
@Module({})
export class MessagingModule implements OnApplicationShutdown {
  constructor(
    @Inject(EventTransport) private readonly transport: EventTransport,
    @Inject(EventBus) private readonly bus: EventBus,
  ) {}

  static forRoot(options: MessagingOptions): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      providers: [
        { provide: MESSAGING_OPTIONS, useValue: resolveMessagingOptions(options) },
        ...sharedProviders,
      ],
      exports: [EventBus, EventTransport, MESSAGING_OPTIONS],
    };
  }

  static forRootAsync(options: MessagingModuleAsyncOptions): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        {
          provide: MESSAGING_OPTIONS,
          useFactory: async (...args: never[]) => resolveMessagingOptions(await options.useFactory(...args)),
          inject: options.inject ?? [],
        },
        ...sharedProviders,
      ],
      exports: [EventBus, EventTransport, MESSAGING_OPTIONS],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.transport.close();
    await this.bus.close();
  }
}
