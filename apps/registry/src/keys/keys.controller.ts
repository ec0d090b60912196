import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiBody, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import {
  CreateKeyRequest,
  createKeyRequestSchema,
  KeyIdentity,
  KeyListQuery,
  keyListQuerySchema,
  keyNameSchema,
  VerifyKeyRequest,
  verifyKeyRequestSchema,
} from '@sepal/contracts';
import { Actor, Authenticated, CallerKey, openApiSchema, RequireScope, ZodValidationPipe } from '@sepal/http';
import { UnauthorizedException } from '@nestjs/common';
import { KeysService } from './keys.service';

@ApiTags('keys')
@Controller('keys')
export class KeysController {
  constructor(private readonly keys: KeysService) {}

  @Post()
  @RequireScope('admin')
  @ApiOperation({
    summary:
      'Create a key with scopes; the answer holds its secret, shown this once (409 if the name is taken).',
  })
  @ApiBody({
    schema: openApiSchema(createKeyRequestSchema),
    examples: { client: { value: { name: 'shop-frontend', scopes: ['predict', 'feedback'] } } },
  })
  create(
    @Body(new ZodValidationPipe(createKeyRequestSchema, 'key')) body: CreateKeyRequest,
    @Actor() actor: string,
  ) {
    return this.keys.create(body, actor);
  }

  @Get()
  @RequireScope('admin')
  @ApiOperation({
    summary:
      'The keys: name, scopes, when made and by whom, last use (never a secret). ?all=true adds revoked keys.',
  })
  @ApiQuery({ name: 'all', required: false, enum: ['true', 'false'] })
  list(@Query(new ZodValidationPipe(keyListQuerySchema, 'query')) query: KeyListQuery) {
    return this.keys.list(query.all);
  }

  @Get('self')
  @Authenticated()
  @ApiOperation({ summary: 'The calling key: its name and scopes (a console disables what it may not do).' })
  self(@CallerKey() key: KeyIdentity): KeyIdentity {
    return { name: key.name, scopes: key.scopes };
  }

  @Delete(':name')
  @RequireScope('admin')
  @ApiOperation({ summary: 'Revoke a key: every app refuses it within SEPAL_KEY_CACHE_MS (at most 5 s).' })
  revoke(
    @Param('name', new ZodValidationPipe(keyNameSchema, 'key name')) name: string,
    @Actor() actor: string,
  ) {
    return this.keys.revoke(name, actor);
  }

  /**
   * How the other apps check a key they were sent (and cache the answer): only for service identities (keys with the
   * `service` scope: the apps' own keys; `admin` implies it). Unknown secrets get 401; the checks running at once are
   * capped (AUTH_CHECKS_IN_FLIGHT, 429 beyond); each app limits its own callers' failures by their address.
   */
  @Post('verify')
  @RequireScope('service')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Who a secret belongs to ({name, scopes}); 401 for an unknown or revoked key. Needs a key with the `service` scope.',
  })
  async verify(
    @Body(new ZodValidationPipe(verifyKeyRequestSchema, 'key check')) body: VerifyKeyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const identity = await this.keys.verifyFor(body.secret, reply);
    if (!identity) throw new UnauthorizedException('unknown or revoked key');
    return identity;
  }
}
