import { Module } from '@nestjs/common';
import { KeysController } from './keys.controller';
import { KeysRepository } from './keys.repository';
import { KeysService } from './keys.service';

/** API keys: identities with scopes, stored hashed; the registry checks them for every app. */
@Module({
  controllers: [KeysController],
  providers: [KeysRepository, KeysService],
  exports: [KeysService],
})
export class KeysModule {}
