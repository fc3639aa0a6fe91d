"""Weights from ``keras.applications`` models in ours: copied layer by layer, by name.

``vgg(16)``/``vgg(19)`` have ``keras.applications.VGG16``/``VGG19``'s layer names, order and shapes
(``model.set_weights(app.get_weights())`` works too); ``resnet(50, conv_bias=True)`` has
``keras.applications.ResNet50``'s names, shapes and layout (``variant="v1"``) and order, so
``set_weights`` works there too. Either way the two models then compute
the same function, on inputs prepared with ``preprocess_input(x, "caffe")``.
"""
from __future__ import annotations

import keras

_LAYOUT = ("strides", "padding", "kernel_size", "epsilon", "groups", "use_bias", "activation")


def load_applications_weights(model: keras.Model, app_model: keras.Model) -> list[str]:
    """Copy every weighted layer of ``app_model`` into ``model``'s layer of the same name.

    Returns the names copied, in ``model``'s order. Raises ``ValueError`` when a weighted layer of
    either model has no same-named layer in the other, when weight shapes differ, or when two
    same-named layers are configured differently (strides, padding, BN ε, ...): the weights would
    load but compute something else (``resnet(50, conv_bias=False)`` places its strides as
    torchvision does, not as ``keras.applications`` does).
    """
    ours = {layer.name: layer for layer in model.layers if layer.weights}
    theirs = {layer.name: layer for layer in app_model.layers if layer.weights}
    if set(ours) != set(theirs):
        only_ours, only_theirs = sorted(set(ours) - set(theirs)), sorted(set(theirs) - set(ours))
        raise ValueError(f"{model.name!r} and {app_model.name!r} have different weighted layers: only in "
                         f"{model.name!r}: {only_ours[:5]}; only in {app_model.name!r}: {only_theirs[:5]}")
    for name, layer in ours.items():
        source = theirs[name]
        have = [tuple(w.shape) for w in layer.weights]
        got = [tuple(w.shape) for w in source.weights]
        if have != got:
            raise ValueError(f"layer {name!r}: weight shapes {got} in {app_model.name!r}, {have} in {model.name!r}")
        mine, other = layer.get_config(), source.get_config()
        differ = [key for key in _LAYOUT if key in mine and _plain(mine[key]) != _plain(other.get(key))
                  and not (key == "padding" and set(mine.get("kernel_size", ())) == {1})]  # 1×1: no padding
        if differ:
            raise ValueError(f"layer {name!r} is configured differently ({', '.join(differ)}: "
                             f"{[mine[k] for k in differ]} here, {[other.get(k) for k in differ]} in "
                             f"{app_model.name!r}); for keras.applications.ResNet50 build resnet(50, conv_bias=True)")
    for name, layer in ours.items():
        layer.set_weights(theirs[name].get_weights())
    return list(ours)


def _plain(value):
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, float):
        return round(value, 9)
    return value
