import { HttpException } from '@nestjs/common';

/**
 * A refused image, with the status that says why: 413 over a limit (the message names it), 415 not a PNG or JPEG
 * (or a kind of JPEG that is not decoded), 422 undecodable or not the model's size. The message names the image
 * (`images[2]`, `file "shirt.png"`) and the problem; both error filters (REST and OIP) answer it as it is.
 */
export class ImageInputError extends HttpException {
  private constructor(message: string, status: 413 | 415 | 422) {
    super(message, status);
    this.name = 'ImageInputError';
  }

  static tooLarge(what: string, problem: string): ImageInputError {
    return new ImageInputError(`${what}: ${problem}`, 413);
  }

  static unsupported(what: string, problem: string): ImageInputError {
    return new ImageInputError(`${what}: ${problem}`, 415);
  }

  static undecodable(what: string, problem: string): ImageInputError {
    return new ImageInputError(`${what}: cannot be decoded: ${problem}`, 422);
  }

  static unprocessable(what: string, problem: string): ImageInputError {
    return new ImageInputError(`${what}: ${problem}`, 422);
  }
}
