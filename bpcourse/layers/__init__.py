"""Building blocks of modern architectures, each with its backward pass.

Every block is a pair of functions: ``*_forward`` returns the output and a
cache, and ``*_backward`` turns ∂L/∂output into ∂L/∂input and the gradients
of the block's parameters. A ``*_tensor`` function computes the same output
from ``bpcourse.autodiff`` operations, so that ``loss.backward()`` gives an
independent second opinion on the hand-derived backward pass.

Modules:

``conv``
    2-D convolution by im2col, max and average pooling. Images are
    (C, H, W, N), examples last.
``attention``
    Scaled dot-product attention with a causal mask, multi-head
    self-attention. A sequence is a (d, T) matrix with one token per column.
``norm``
    Layer normalization over the features of each column.
``graph_conv``
    The graph convolution Z = W H Â + b, nodes as columns.
``diffusion``
    The noise schedule, the noise-prediction loss, a denoiser with a time
    embedding, and ancestral sampling.
``models``
    Small models built from the blocks: a CNN, a one-layer Transformer and
    a two-layer GCN, with a training loop.
``tasks``
    The small data sets those models are trained on.
``checking``
    Central differences for checking any backward pass.
"""
