import { Body, Controller, Get, Headers, Param, Post, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Actor, RequireScope } from '@sepal/http';
import { ArtifactsService } from './artifacts.service';

@ApiTags('artifacts')
@Controller('artifacts')
export class ArtifactsController {
  constructor(private readonly artifacts: ArtifactsService) {}

  @Post()
  @RequireScope('train')
  @ApiConsumes('application/octet-stream')
  @ApiHeader({ name: 'X-Content-SHA256', required: true, description: 'hex SHA-256 of the body' })
  @ApiBody({ schema: { type: 'string', format: 'binary' } })
  @ApiOperation({
    summary: 'Upload an artifact (raw bytes); stored content-addressed once the stated SHA-256 is verified.',
    description:
      '201 when stored, 200 when identical content was already there, 400 on a hash mismatch, 422 when the bytes ' +
      'are not an acceptable ONNX model (malformed, a foreign operator domain or opset, external data, too many ' +
      'nodes), naming the problem. The calling key is recorded as the uploader.',
  })
  async upload(
    @Body() body: unknown,
    @Headers('x-content-sha256') sha256: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Actor() actor: string,
  ) {
    const { artifact, created } = await this.artifacts.upload(body, sha256, actor);
    void reply.status(created ? 201 : 200);
    return artifact;
  }

  @Get(':sha256')
  @RequireScope('read')
  @ApiOperation({ summary: 'Download an artifact; verify the bytes against the X-Content-SHA256 header.' })
  async download(@Param('sha256') sha256: string, @Res() reply: FastifyReply): Promise<void> {
    const { artifact, stream } = await this.artifacts.open(sha256);
    void reply
      .header('X-Content-SHA256', artifact.sha256)
      .header('Content-Length', String(artifact.size))
      .type('application/octet-stream')
      .send(stream);
  }
}
