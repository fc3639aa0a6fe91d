"""Model builders in the style of ``keras.applications``: plain functions returning functional models."""
from keras_repro.models.basic import mlp, sigmoid_sum  # noqa: F401
from keras_repro.models.alexnet import alexnet  # noqa: F401,E402
from keras_repro.models._common import inference_copy, trainable_parameters  # noqa: F401,E402
from keras_repro.models.lenet import lenet5  # noqa: F401,E402
from keras_repro.models.googlenet import googlenet, inception_block  # noqa: F401,E402
from keras_repro.models.superres import srcnn  # noqa: F401,E402
from keras_repro.models.resnet import (  # noqa: F401,E402
    basic_block, bottleneck_block, resnet, resnet_cifar, resnext,
)
from keras_repro.models.applications import load_applications_weights  # noqa: F401,E402
from keras_repro.models.preprocessing import (  # noqa: F401,E402
    preprocess_input, resnet_preprocess_input, vgg_preprocess_input, with_preprocessing,
)
from keras_repro.models.vgg import (  # noqa: F401,E402
    copy_weights_by_name, grow_vgg, vgg, vgg11, vgg13, vgg16, vgg19, vgg_backbone, vgg_block, vgg_depth,
)


import keras_repro as _package  # noqa: E402

_package._register()  # every registering module, if Keras's first import came from this one
