import { FASHION_MNIST_CLASSES } from '@sepal/ml';

/** A built-in image dataset: IDX file pairs found on this machine, their declared splits and class names. */
export interface ImageDatasetDefinition {
  name: string;
  description: string;
  /** The configuration setting that names the directory holding the files. */
  directorySetting: 'FASHION_MNIST_DIR';
  pairs: { prefix: string; split: 'train' | 'test'; images: string; labels: string }[];
  classes: string[];
  /** How to get the files when they are missing. */
  install: string;
  source: string;
}

export const FASHION_MNIST: ImageDatasetDefinition = {
  name: 'fashion-mnist',
  description:
    'Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 70,000 28x28 grey pictures of clothing, 10 classes; the 10,000 t10k images are the test split.',
  directorySetting: 'FASHION_MNIST_DIR',
  pairs: [
    {
      prefix: 'train',
      split: 'train',
      images: 'train-images-idx3-ubyte.gz',
      labels: 'train-labels-idx1-ubyte.gz',
    },
    {
      prefix: 't10k',
      split: 'test',
      images: 't10k-images-idx3-ubyte.gz',
      labels: 't10k-labels-idx1-ubyte.gz',
    },
  ],
  classes: [...FASHION_MNIST_CLASSES],
  install: 'apt-get install dataset-fashion-mnist (Debian, MIT licence)',
  source: 'Zalando Research, Fashion-MNIST, MIT licence (Debian package dataset-fashion-mnist)',
};

export const IMAGE_CATALOG: readonly ImageDatasetDefinition[] = [FASHION_MNIST];

export function findImageDefinition(name: string): ImageDatasetDefinition | undefined {
  return IMAGE_CATALOG.find((definition) => definition.name === name);
}
