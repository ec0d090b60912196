import { z } from 'zod';
import { featureValues, nonEmptyName } from '../events/common';

export const importDatasetRequestSchema = z
  .object({
    content: z
      .string()
      .max(50 * 1024 * 1024)
      .optional(),
    fileName: z.string().max(300).optional(),
  })
  .strict();
export type ImportDatasetRequest = z.infer<typeof importDatasetRequestSchema>;

export const feedbackRequestSchema = z
  .object({
    id: z.string().uuid().optional(),
    features: featureValues,
    label: nonEmptyName,
    source: z.string().max(200).optional(),
  })
  .strict();
export type FeedbackRequest = z.infer<typeof feedbackRequestSchema>;

/** Request examples of feedbackRequestSchema for the OpenAPI docs of every service that accepts feedback. */
export const feedbackRequestExamples = {
  named: {
    value: {
      features: { sepal_length: 5.9, sepal_width: 3.0, petal_length: 5.1, petal_width: 1.8 },
      label: 'Iris-virginica',
    },
  },
  array: { value: { features: [5.1, 3.5, 1.4, 0.2], label: 'Iris-setosa' } },
};

export const splitQuerySchema = z.object({ split: z.enum(['train', 'test']).optional() });

export const rowsQuerySchema = splitQuerySchema.extend({
  cursor: z.coerce.number().int().min(-1).default(-1),
  limit: z.coerce.number().int().min(1).max(10000).default(1000),
});
export type RowsQuery = z.infer<typeof rowsQuerySchema>;

export const diffQuerySchema = z.object({ from: z.string().min(1), to: z.string().min(1).default('latest') });

export const feedbackListQuerySchema = z.object({
  state: z.enum(['pending', 'committed', 'all']).default('pending'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** One page of a split: features in the dataset's feature order and class indices; follow `nextCursor`. */
export interface RowPageResponse {
  dataset: string;
  version: string;
  split: 'train' | 'test' | 'all';
  features: number[][];
  labels: number[];
  nextCursor: number | null;
}
