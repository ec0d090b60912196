import { Module } from '@nestjs/common';
import { InboxRepository } from './inbox.repository';

@Module({ providers: [InboxRepository], exports: [InboxRepository] })
export class InboxModule {}
