"""Exports a trained model for use without cari-mtl: a TF SavedModel, a Keras `.keras` file or a TFLite model.

    cari export --model_dir DIR --format savedmodel|keras|tflite|onnx --output PATH

savedmodel: a directory for `tf.saved_model.load` (TensorFlow only, no cari_mtl import needed). Its
  `serving_default` signature takes `images`, float32 [N, S, S, 3] RGB pixels in 0..255 at the model's
  size S, standardises them inside the graph as the model was trained (config.json's
  image_standardization, or --image_standardization) and returns float32 `embeddings`,
  `embeddings_visual`, `embeddings_cari` [N, 1792] (L2-normalised) and `logits_verif`,
  `logits_visual`, `logits_cari` [N, K].
tflite: the same signature and outputs, converted to a float32 TFLite flatbuffer; --quantize float16
  stores the weights as float16 (about half the size), --quantize dynamic as int8 with float
  activations (about a quarter).
onnx: the same signature and outputs as an ONNX model (opset 17), converted from the SavedModel by
  tf2onnx, an optional dependency: pip install "cari-mtl[onnx]".
keras: the Keras network itself (`keras.models.load_model` after `import cari_mtl.model.inception_resnet_v1_cari_vis`,
  which registers its L2Normalize layer); its input is already standardised, its outputs are the
  full dict of the network (prelogits, embeddings, logits, task weights).

Every export carries the model card's metadata (image size, standardisation, threshold, identities,
training): in the SavedModel's assets/cari_mtl_model.json, beside any other as <output>.json.
The exported graph runs the network in inference mode (batch norm moving averages, no dropout).
Images of another size must be resized first (extract_features standardises, then resizes).
"""

import argparse
import sys

from cari_mtl.commands.cli import run_cli
from cari_mtl.commands.common_flags import add_backend_flag, add_image_standardization_flag, add_overwrite_flag
from cari_mtl.model.export_metadata import FORMATS, QUANTIZATIONS
from cari_mtl.runtime.backend import tensorflow_only


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_dir", required=True, help="native model directory or TF1 checkpoint directory")
    parser.add_argument("--format", required=True, choices=FORMATS,
                        help="savedmodel, keras, tflite or onnx (needs tf2onnx)")
    parser.add_argument("--output", required=True,
                        help="directory (savedmodel), .keras, .tflite or .onnx file to write; refused if it "
                             "exists, unless --overwrite")
    parser.add_argument("--image_size", type=int, default=160,
                        help="input size when --model_dir is a TF1 checkpoint (default 160)")
    parser.add_argument("--nrof_classes", type=int, default=None,
                        help="number of classes when --model_dir is a TF1 checkpoint without logits layers")
    parser.add_argument("--quantize", default="none", choices=QUANTIZATIONS,
                        help="tflite only: float16 weights (about half the size) or dynamic int8 weights "
                             "(about a quarter); default none (float32)")
    add_image_standardization_flag(parser)
    add_backend_flag(parser)
    add_overwrite_flag(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_arguments(argv)
    tensorflow_only("export (SavedModel, TFLite, ONNX)")
    from cari_mtl.evaluation.export import export_model  # TensorFlow, once the flags parsed (not for --help)

    output, config = export_model(args.model_dir, args.format, args.output, args.image_size, args.nrof_classes,
                                  args.image_standardization, args.quantize,
                                  args.overwrite)
    quantized = f", {args.quantize} quantized" if args.quantize != "none" else ""
    print(f"wrote {output} ({args.format}{quantized}, {config.image_size} px, {config.image_standardization} "
          f"standardization{' inside the graph' if args.format != 'keras' else ' expected on the input'}; "
          f"metadata with the model card beside it)")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
