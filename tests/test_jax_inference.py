"""Under JAX, the inference pass pads a short last batch up to the compiled one: the same rows, one
compilation for a list (runs in a JAX subprocess without TensorFlow)."""

import json

import pytest

from jax_subprocess import TESTS, requires_jax, run_jax

BATCHES = """
import json, logging, sys
import numpy as np
import jax
sys.path.insert(0, {tests!r})
from small_network import build_model
from cari_mtl.runtime.jax_inference import jax_inference_function

compilations = []
handler = logging.Handler()
handler.emit = lambda record: compilations.append(record.getMessage())
logging.getLogger("jax").addHandler(handler)
images = np.random.default_rng(0).normal(size=(5, 32, 32, 3)).astype(np.float32)
infer = jax_inference_function(build_model(image_size=32, nrof_classes=3), ["embeddings"])
with jax.log_compiles():
    first, last = (np.asarray(infer(part)["embeddings"]) for part in (images[:3], images[3:]))
whole = np.asarray(infer(images)["embeddings"])
difference = float(np.abs(np.concatenate([first, last]) - whole).max())
compiled = sum("Compiling" in message and "forward" in message for message in compilations)
print(json.dumps({{"rows": [len(first), len(last)], "max_difference": difference, "compilations": compiled}}))
"""


@requires_jax
@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_a_short_last_batch_gives_the_same_rows_without_a_new_compilation():
    result = run_jax(["-c", BATCHES.format(tests=str(TESTS))])
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["rows"] == [3, 2]
    assert report["max_difference"] <= 1e-6
    assert report["compilations"] == 1
