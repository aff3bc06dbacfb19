"""The paper's CLIPSeg segmentation baseline, trained on cached activations of the frozen encoders.

Modules: :mod:`~baselines.seg.data` (samples, targets), :mod:`~baselines.seg.images` (decoding),
:mod:`~baselines.seg.prompts`, :mod:`~baselines.seg.model`, :mod:`~baselines.seg.tiny` (offline
random models), :mod:`~baselines.seg.features` (the cache), :mod:`~baselines.seg.train`,
:mod:`~baselines.seg.predict` and :mod:`~baselines.seg.run` (the command end to end), on the
shared :mod:`~baselines.runtime` (device, precision, torchrun) and :mod:`~baselines.hub`. Only the
functions that run need torch.
"""
