"""Beyond first-order backpropagation: curvature, implicit layers and alternatives.

Every module builds on ``bpcourse.network.Network`` and the course's notation,
one topic each:

``vectors``
    Lists of parameter arrays as one vector: flatten, dot, cosine.
``jvp``
    Forward-mode tangents of the forward pass and the directional derivative.
``hvp``
    Hessian- and Gauss–Newton-vector products by the R-operator, and explicit
    Hessians built column by column.
``kfac``
    Exact Gauss–Newton blocks of one layer and their Kronecker approximation.
``implicit``
    A fixed-point (deep equilibrium) layer and its implicit gradients.
``synthetic``
    Training the first layer from a linear prediction of its gradient.
``ntk``
    The empirical neural tangent kernel and its change with width.
``discrete``
    REINFORCE, Gumbel-softmax and surrogate gradients of a step function.
``hypergradient``
    The derivative of the loss after an update with respect to the learning
    rate, and hypergradient descent.
``forward_gradient``
    Unbiased gradient estimates from one forward-mode pass.
``forward_forward``
    Layer-local goodness objectives, trained without a backward pass.
``parallelism``
    The cost of a step and the schedule of the layers' work.
"""
