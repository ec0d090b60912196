/**
 * The class names of Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017) in the order of its IDX label bytes: label `i`
 * names `FASHION_MNIST_CLASSES[i]`.
 */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);
