import { z } from 'zod';

/** The largest side a declared image shape may have in any deployment (DATA_MAX_IMAGE_SIDE may set a lower one). */
export const MAX_IMAGE_SIDE = 1024;

/**
 * How an image dataset's pictures become model input, recorded in every version's schema (and part of its id):
 * every image is decoded, converted to `channels` (1 = grey by luminance, 3 = RGB; transparency composited on
 * black) and brought to `height` × `width` by the resize policy:
 * - `stretch`: resampled to exactly that size (the aspect ratio may change);
 * - `fit`: resampled to fit inside it with its aspect ratio kept, centred, the rest black;
 * - `exact`: not resampled; an image of another size is a per-file error.
 */
export const imageSpecSchema = z
  .object({
    height: z.number().int().min(1).max(MAX_IMAGE_SIDE),
    width: z.number().int().min(1).max(MAX_IMAGE_SIDE),
    channels: z.union([z.literal(1), z.literal(3)]),
    resize: z.enum(['stretch', 'fit', 'exact']),
  })
  .strict();
export type ImageSpec = z.infer<typeof imageSpecSchema>;
export type ResizePolicy = ImageSpec['resize'];
