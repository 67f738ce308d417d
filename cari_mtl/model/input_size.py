"""The input-size arithmetic of Inception-ResNet-v1's VALID convolutions, without Keras, so that a
config check (imported by `--help`) and the network file share one answer."""


def mixed_7a_size(image_size):
    """Spatial size of Mixed_7a for a square input (<= 0 means the input is too small)."""
    size = (image_size - 3) // 2 + 1   # Conv2d_1a_3x3, stride 2, VALID
    size -= 2                          # Conv2d_2a_3x3, VALID
    size = (size - 3) // 2 + 1         # MaxPool_3a_3x3
    size -= 2                          # Conv2d_4a_3x3, VALID
    for _ in range(3):                 # Conv2d_4b_3x3, Mixed_6a, Mixed_7a: 3x3 stride 2 VALID
        size = (size - 3) // 2 + 1
    return size


def min_image_size():
    """The smallest square input whose Mixed_7a feature map keeps one pixel (75)."""
    size = 1
    while mixed_7a_size(size) < 1:
        size += 1
    return size
