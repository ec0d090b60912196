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
import { versionView } from '../datasets/version-view';
import { FeedbackService } from './feedback.service';

@ApiTags('feedback')
@Controller('datasets/:name/feedback')
export class FeedbackController {
  constructor(private readonly feedback: FeedbackService) {}

  @Post()
  @RequireScope('feedback')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'A labelled sample: stored at once with the calling key, committed into a new version (train split only) on ' +
      'demand or every N samples. 429 beyond FEEDBACK_RATE_PER_KEY samples per minute per key.',
  })
  @ApiBody({
    schema: openApiSchema(feedbackRequestSchema),
    examples: feedbackRequestExamples,
  })
  receive(
    @Param('name') name: string,
    @Body(new ZodValidationPipe(feedbackRequestSchema, 'feedback')) body: FeedbackRequest,
    @Actor() actor: string,
  ): Promise<FeedbackReceipt> {
    return this.feedback.receive({
      dataset: name,
      features: body.features,
      label: body.label,
      source: body.source,
      clientId: body.id,
      submittedBy: actor,
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
    summary:
      'Commit every pending sample into a child of the latest version (train split only), audited with the ' +
      'calling key; emits dataset.versioned.',
  })
  async commit(@Param('name') name: string, @Actor() actor: string): Promise<CommitFeedbackResponse> {
    const outcome = await this.feedback.commit(name, { actor });
    return {
      created: outcome.created,
      feedbackRows: outcome.feedbackRows,
      version: versionView(outcome.version),
      rowsWritten: outcome.rowsWritten,
      rowsRemoved: outcome.rowsRemoved,
    };
  }
}
