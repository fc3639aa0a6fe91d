"""What reproductions measure with, one idea per module.

- :mod:`~keras_repro.measures.surfaces`: loss surfaces (quadratics, Rosenbrock) and their contour plots;
- :mod:`~keras_repro.measures.descent`: descent on surfaces and networks, and the measures read from
  trajectories and loss curves;
- :mod:`~keras_repro.measures.minima`: local minima of a one-dimensional loss;
- :mod:`~keras_repro.measures.selection`: which weights a penalty zeroes;
- :mod:`~keras_repro.measures.monte_carlo`: Monte-Carlo means of stochastic layers;
- :mod:`~keras_repro.measures.classification`: inference-mode scores, steps to a target accuracy;
- :mod:`~keras_repro.measures.gap`: the overfitting gap of small classifiers;
- :mod:`~keras_repro.measures.paired`: paired comparisons across seeds;
- :mod:`~keras_repro.measures.batchnorm`: BatchNorm's inference formula and moving statistics;
- :mod:`~keras_repro.measures.gradients`: per-layer gradient norms, element-wise derivatives;
- :mod:`~keras_repro.measures.conv_arithmetic`: output sizes, receptive fields, weight counts of convolutions;
- :mod:`~keras_repro.measures.flops`: a model's multiply-adds;
- :mod:`~keras_repro.measures.boolean`: Boolean functions, step-unit networks and linear separability.
"""
