import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  CommitFeedbackResponse,
  FeedbackReceipt,
  FeedbackRequest,
  FeedbackSampleView,
  feedbackListQuerySchema,
  feedbackRequestExamples,
  feedbackRequestSchema,
} from '@sepal/contracts';
import { Actor, openApiSchema, RequireScope, ZodValidationPipe } from '@sepal/http';
import { DataAuditService } from '../audit/data-audit.service';
import { versionView } from '../datasets/version-view';
import { FeedbackService } from './feedback.service';

@ApiTags('feedback')
@Controller('datasets/:name/feedback')
export class FeedbackController {
  constructor(
    private readonly feedback: FeedbackService,
    private readonly audit: DataAuditService,
  ) {}

  @Post()
  @RequireScope('feedback')
  @HttpCode(202)
  @ApiOperation({
    summary: 'A labelled sample: stored at once, committed into a new version on demand or every N samples.',
  })
  @ApiBody({
    schema: openApiSchema(feedbackRequestSchema),
    examples: feedbackRequestExamples,
  })
  receive(
    @Param('name') name: string,
    @Body(new ZodValidationPipe(feedbackRequestSchema, 'feedback')) body: FeedbackRequest,
  ): Promise<FeedbackReceipt> {
    return this.feedback.receive({
      dataset: name,
      features: body.features,
      label: body.label,
      source: body.source,
      feedbackId: body.id,
      predictionId: body.predictionId,
    });
  }

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'Feedback samples (?state=pending|committed|all).' })
  list(
    @Param('name') name: string,
    @Query(new ZodValidationPipe(feedbackListQuerySchema, 'query'))
    query: { state: 'pending' | 'committed' | 'all'; limit: number },
  ): Promise<FeedbackSampleView[]> {
    return this.feedback.list(name, query.state, query.limit);
  }

  @Post('commit')
  @RequireScope('data:write')
  @ApiOperation({
    summary: 'Commit every pending sample into a child of the latest version; emits dataset.versioned.',
  })
  async commit(@Param('name') name: string, @Actor() actor: string): Promise<CommitFeedbackResponse> {
    const outcome = await this.feedback.commit(name);
    await this.audit.record({
      dataset: name,
      action: 'feedback-commit',
      version: outcome.version?.id ?? null,
      created: outcome.created,
      actor,
    });
    return {
      created: outcome.created,
      feedbackRows: outcome.feedbackRows,
      version: versionView(outcome.version),
      rowsWritten: outcome.rowsWritten,
      rowsRemoved: outcome.rowsRemoved,
    };
  }
}
