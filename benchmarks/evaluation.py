"""Evaluation speed: embedding extraction, and the vectorised metrics against loops written like the original.

    python benchmarks/evaluation.py [--quick] [--xla] [--mixed_precision CHOICE] [--pairs 100000
        --probes 1000 --gallery 5000 --extract_images 400 --batch_size 100 --image_size 160
        --loop_folds 10 --loop_probes 1000 --skip_extraction --skip_metrics]

(a) Extraction: --extract_images synthetic --source_size px JPEGs written to a temporary folder go
    through cari_mtl.evaluation.features.FeatureExtractor (threaded evaluation loader, compiled inference, all six
    outputs) on a randomly initialised network at --image_size px, --batch_size images per batch; the
    first batch is run once untimed (tracing), then all images are timed. --xla and --mixed_precision
    as on the evaluation commands (auto: on a GPU only). Decoding alone is timed too.
(b) Verification: cari_mtl.evaluation.metrics.evaluate_verification (10 folds: accuracy at each fold's best
    training threshold over arange(0, 4, 0.01), VAL at FAR 0.01 over arange(0, 4, 0.001), AUC) on
    --pairs pairs of unit 128-d embeddings, against `loop_verification`: the original's
    facenet_ext.calculate_roc / calculate_val and evaluate_cavi's per-fold sklearn AUC, with their
    Python loops over folds and thresholds and their per-threshold numpy counts over the pairs. Both
    measure VAL on the test fold (the port's default; the original's training-fold VAL costs the same).
(c) Identification: cari_mtl.evaluation.metrics.rank_n_accuracy (Rank-1, Rank-10) and legacy_rank_n_accuracy on
    --probes x --gallery, against `loop_rank`: evaluate_webcavi_identify.rank_n's double Python loop
    over probe and gallery rows, argmin / argpartition and its Rank-10 loop; both sides compute Rank-1,
    the paper's Rank-10 and the original's (--legacy_rank) Rank-10.
Both comparisons assert that the two implementations give the same figures. The loops may run on a
part of the work, --loop_folds of the 10 folds (every fold costs the same: 90% of the pairs to train,
10% to test) and --loop_probes of the probes (every probe costs the same), their time then being
scaled linearly to the whole; --quick does so (3 folds, 100 probes) and the JSON says so. The last
line is one JSON object.
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn import metrics as sk_metrics  # noqa: E402

from cari_mtl.commands.common_flags import add_speed_flags  # noqa: E402
from cari_mtl.data.cavi import list_cavi_images  # noqa: E402
from cari_mtl.data.synthetic import generate_dataset  # noqa: E402
from cari_mtl.evaluation import metrics  # noqa: E402
from cari_mtl.evaluation.features import FeatureExtractor, default_workers, image_batches  # noqa: E402
from cari_mtl.model.model_dir import ModelConfig  # noqa: E402
from cari_mtl.runtime.speed import apply_mixed_precision, use_xla  # noqa: E402

EMBEDDING_SIZE = 128
FOLDS = 10
FAR_TARGET = 0.01
RANK_N = 10


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="a run of under a minute: fewer images, loops timed on subsets and scaled")
    parser.add_argument("--pairs", type=int, default=100_000, help="verification pairs (default 100000)")
    parser.add_argument("--probes", type=int, default=1000, help="identification probes (default 1000)")
    parser.add_argument("--gallery", type=int, default=5000, help="identification gallery images (default 5000)")
    parser.add_argument("--loop_folds", type=int, default=None,
                        help="folds the verification loop runs (default all 10; --quick 3)")
    parser.add_argument("--loop_probes", type=int, default=None,
                        help="probes the rank loop runs on (default all; --quick 100)")
    parser.add_argument("--extract_images", type=int, default=400, help="timed images (default 400; --quick 200)")
    parser.add_argument("--batch_size", type=int, default=100, help="images per forward batch (default 100)")
    parser.add_argument("--image_size", type=int, default=160, help="network input size (default 160)")
    parser.add_argument("--nrof_classes", type=int, default=100, help="classes of the network (default 100)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="runs of each vectorised metric, the median is reported (default 5)")
    parser.add_argument("--source_size", type=int, default=182,
                        help="side of the synthetic JPEG files (default 182, the aligned size)")
    parser.add_argument("--skip_extraction", action="store_true", help="time the metrics only")
    parser.add_argument("--skip_metrics", action="store_true", help="time the extraction only")
    add_speed_flags(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.extract_images = min(args.extract_images, 200)
        args.loop_folds = args.loop_folds or 3
        args.loop_probes = args.loop_probes or 100
        args.repeats = min(args.repeats, 3)
    args.loop_folds = min(args.loop_folds or FOLDS, FOLDS)
    args.loop_probes = min(args.loop_probes or args.probes, args.probes)
    return args


# ---- synthetic embeddings -------------------------------------------------------------------------

def unit(rows):
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def verification_embeddings(nrof_pairs, seed=0):
    """[2P, 128] unit embeddings in pair order and [P] labels; same pairs are noisy copies, so the
    distances of same and different pairs overlap and every threshold of the grid matters."""
    rng = np.random.default_rng(seed)
    first = unit(rng.standard_normal((nrof_pairs, EMBEDDING_SIZE)))
    issame = rng.random(nrof_pairs) < 0.5
    other = unit(rng.standard_normal((nrof_pairs, EMBEDDING_SIZE)))
    noisy = unit(first + 0.4 * rng.standard_normal((nrof_pairs, EMBEDDING_SIZE)))
    second = np.where(issame[:, None], noisy, other)
    embeddings = np.empty((2 * nrof_pairs, EMBEDDING_SIZE))
    embeddings[0::2], embeddings[1::2] = first, second
    return embeddings, issame


def identification_embeddings(nrof_probes, nrof_gallery, seed=1):
    """Probe and gallery unit embeddings around shared identity centres (10 gallery images each)."""
    rng = np.random.default_rng(seed)
    identities = max(1, nrof_gallery // 10)
    centres = unit(rng.standard_normal((identities, EMBEDDING_SIZE)))
    gallery_labels = np.arange(nrof_gallery) % identities
    probe_labels = rng.integers(0, identities, nrof_probes)

    def around(labels):
        return unit(centres[labels] + 0.17 * rng.standard_normal((len(labels), EMBEDDING_SIZE)))

    return around(probe_labels), probe_labels, around(gallery_labels), gallery_labels


# ---- loops written like the original (facenet_ext, evaluate_cavi, evaluate_webcavi_identify) ------

def loop_kfold(nrof_pairs, nrof_folds, folds_run=FOLDS):
    """(train indices, test indices) per fold, as sklearn's old KFold(n, n_folds, shuffle=False);
    only the first `folds_run` folds."""
    sizes = [nrof_pairs // nrof_folds + (1 if fold < nrof_pairs % nrof_folds else 0) for fold in range(nrof_folds)]
    everything = np.arange(nrof_pairs)
    start = 0
    for size in sizes[:folds_run]:
        test = everything[start:start + size]
        train = np.concatenate([everything[:start], everything[start + size:]])
        yield train, test
        start += size


def loop_calculate_accuracy(threshold, dist, actual_issame):
    predict_issame = np.less(dist, threshold)
    tp = np.sum(np.logical_and(predict_issame, actual_issame))
    fp = np.sum(np.logical_and(predict_issame, np.logical_not(actual_issame)))
    tn = np.sum(np.logical_and(np.logical_not(predict_issame), np.logical_not(actual_issame)))
    fn = np.sum(np.logical_and(np.logical_not(predict_issame), actual_issame))
    tpr = 0 if (tp + fn == 0) else float(tp) / float(tp + fn)
    fpr = 0 if (fp + tn == 0) else float(fp) / float(fp + tn)
    acc = float(tp + tn) / dist.size
    fp_idx = np.logical_and(predict_issame, np.logical_not(actual_issame))
    fn_idx = np.logical_and(np.logical_not(predict_issame), actual_issame)
    return tpr, fpr, acc, fp_idx, fn_idx


def loop_calculate_val_far(threshold, dist, actual_issame):
    predict_issame = np.less(dist, threshold)
    true_accept = np.sum(np.logical_and(predict_issame, actual_issame))
    false_accept = np.sum(np.logical_and(predict_issame, np.logical_not(actual_issame)))
    n_same = np.sum(actual_issame)
    n_diff = np.sum(np.logical_not(actual_issame))
    val = 0 if n_same == 0 else float(true_accept) / float(n_same)
    far = 0 if n_diff == 0 else float(false_accept) / float(n_diff)
    return val, far


def loop_slinear(far_train, thresholds, far_target):
    """What scipy < 1.3's interp1d(far_train, thresholds, kind='slinear')(far_target) returned."""
    high = 0
    while high < len(far_train) - 1 and far_train[high] <= far_target:
        high += 1
    low = high - 1
    if far_train[high] == far_train[low]:
        return thresholds[high]
    slope = (thresholds[high] - thresholds[low]) / (far_train[high] - far_train[low])
    return thresholds[low] + (far_target - far_train[low]) * slope


def loop_calculate_roc(thresholds, embeddings1, embeddings2, actual_issame, nrof_folds, folds_run=FOLDS):
    nrof_pairs = min(len(actual_issame), embeddings1.shape[0])
    nrof_thresholds = len(thresholds)
    tprs = np.zeros((nrof_folds, nrof_thresholds))
    fprs = np.zeros((nrof_folds, nrof_thresholds))
    accuracy = np.zeros(nrof_folds)
    best_threshold = np.zeros(nrof_folds)
    dist = np.sum(np.square(np.subtract(embeddings1, embeddings2)), 1)
    for fold_idx, (train_set, test_set) in enumerate(loop_kfold(nrof_pairs, nrof_folds, folds_run)):
        acc_train = np.zeros(nrof_thresholds)
        for threshold_idx, threshold in enumerate(thresholds):
            _, _, acc_train[threshold_idx], _, _ = loop_calculate_accuracy(threshold, dist[train_set],
                                                                          actual_issame[train_set])
        best_threshold_index = np.argmax(acc_train)
        best_threshold[fold_idx] = thresholds[best_threshold_index]
        for threshold_idx, threshold in enumerate(thresholds):
            tprs[fold_idx, threshold_idx], fprs[fold_idx, threshold_idx], _, _, _ = loop_calculate_accuracy(
                threshold, dist[test_set], actual_issame[test_set])
        _, _, accuracy[fold_idx], _, _ = loop_calculate_accuracy(thresholds[best_threshold_index], dist[test_set],
                                                                 actual_issame[test_set])
    mean_best_threshold = np.mean(best_threshold)
    _, _, _, fp_idx, fn_idx = loop_calculate_accuracy(mean_best_threshold, dist, actual_issame)
    return tprs, fprs, accuracy, fp_idx, fn_idx, mean_best_threshold


def loop_calculate_val(thresholds, embeddings1, embeddings2, actual_issame, far_target, nrof_folds,
                       folds_run=FOLDS):
    """The original's calculate_val, VAL measured on the test fold (the port's default protocol)."""
    nrof_pairs = min(len(actual_issame), embeddings1.shape[0])
    dist = np.sum(np.square(np.subtract(embeddings1, embeddings2)), 1)
    nrof_thresholds = len(thresholds)
    val = np.zeros(nrof_folds)
    far = np.zeros(nrof_folds)
    for fold_idx, (train_set, test_set) in enumerate(loop_kfold(nrof_pairs, nrof_folds, folds_run)):
        far_train = np.zeros(nrof_thresholds)
        for threshold_idx, threshold in enumerate(thresholds):
            _, far_train[threshold_idx] = loop_calculate_val_far(threshold, dist[train_set], actual_issame[train_set])
        if np.max(far_train) >= far_target:
            threshold = loop_slinear(far_train, thresholds, far_target)
        else:
            threshold = 0.0
        val[fold_idx], far[fold_idx] = loop_calculate_val_far(threshold, dist[test_set], actual_issame[test_set])
    return val, far


def loop_verification(embeddings, actual_issame, nrof_folds=FOLDS, far=FAR_TARGET, folds_run=FOLDS):
    """lfw_ext.evaluate, then evaluate_cavi's AUC loop: the original's path from embeddings to figures.
    With folds_run < nrof_folds only those folds are computed (the others stay zero)."""
    embeddings1, embeddings2 = embeddings[0::2], embeddings[1::2]
    tprs, fprs, accuracy, fp_idx, fn_idx, best_threshold = loop_calculate_roc(
        np.arange(0, 4, 0.01), embeddings1, embeddings2, np.asarray(actual_issame), nrof_folds, folds_run)
    val, _ = loop_calculate_val(np.arange(0, 4, 0.001), embeddings1, embeddings2, np.asarray(actual_issame), far,
                                nrof_folds, folds_run)
    auc = np.zeros(tprs.shape[0])
    for i in range(folds_run):
        auc[i] = sk_metrics.auc(fprs[i], tprs[i])
    return {"accuracy": accuracy, "val": val, "auc": auc, "best_threshold": best_threshold,
            "fp_indices": np.flatnonzero(fp_idx), "fn_indices": np.flatnonzero(fn_idx)}


def loop_rank(emb_array_probe, label_list_id_probe, emb_array_gallery, label_list_id_gallery, n=RANK_N):
    """evaluate_webcavi_identify.rank_n: (Rank-1, Rank-n, the original's Rank-n with its indexing bug)."""
    dist_emb_prob_array = np.zeros((emb_array_probe.shape[0], emb_array_gallery.shape[0]))
    for i in range(emb_array_probe.shape[0]):
        emb_prob = emb_array_probe[i]
        for j in range(emb_array_gallery.shape[0]):
            emb_gallery = emb_array_gallery[j]
            diff = np.subtract(emb_prob, emb_gallery)
            dist = np.sum(np.square(diff))
            dist_emb_prob_array[i][j] = dist
    rank1_idx = np.argmin(dist_emb_prob_array, 1)
    label_list_id_probe_predict = [label_list_id_gallery[i] for i in rank1_idx]
    rank1_acc = np.mean(np.equal(label_list_id_probe_predict, label_list_id_probe))

    label_list_id_probe_predict = []
    rank_n_idx = np.argpartition(dist_emb_prob_array, n, 1)
    for i in range(rank_n_idx.shape[0]):
        label_list_id_probe_predict += [label_list_id_gallery[i] for i in rank_n_idx[i][:n]]
    correct_prediction = np.equal(label_list_id_probe_predict, list(np.array(label_list_id_probe).repeat(n)))
    corr_n = 0
    corr_legacy = 0
    for i in range(len(label_list_id_probe)):
        if sum(correct_prediction[i * n:(i + 1) * n]) > 0:
            corr_n += 1
        if sum(correct_prediction[i::n]) > 0:
            corr_legacy += 1
    return rank1_acc, corr_n / len(label_list_id_probe), corr_legacy / len(label_list_id_probe)


# ---- extraction -----------------------------------------------------------------------------------

def synthetic_jpegs(folder, count, source_size):
    """Paths of at least `count` synthetic CaVI-layout JPEGs (10 photos and 10 caricatures per identity)."""
    identities = max(1, -(-count // 20))
    dataset = generate_dataset(folder, identities=identities, photos_per_id=10, caricatures_per_id=10,
                               image_size=source_size)
    return [row[0] for row in list_cavi_images(dataset.data_dir)][:count]


def benchmark_extraction(args):
    policy = apply_mixed_precision(args.mixed_precision)
    jit_compile = use_xla(args.xla)
    model = ModelConfig(args.image_size, args.nrof_classes).build()
    extractor = FeatureExtractor(model, args.image_size, args.batch_size, jit_compile=jit_compile)
    with tempfile.TemporaryDirectory() as folder:
        paths = synthetic_jpegs(folder, args.extract_images, args.source_size)
        _, decode_seconds = timed(lambda: sum(1 for _ in image_batches(paths, args.image_size, args.batch_size)))
        _, warmup_seconds = timed(extractor, paths[:args.batch_size], False)
        (features, valid), seconds = timed(extractor, paths, False)
    assert valid.all() and np.all(np.isfinite(features["embeddings"]))
    return {
        "extract_images_per_s": round(len(paths) / seconds, 1), "extract_images": len(paths),
        "extract_seconds": round(seconds, 3), "extract_warmup_seconds": round(warmup_seconds, 3),
        "decode_images_per_s": round(len(paths) / decode_seconds, 1), "decode_workers": default_workers(),
        "batch_size": args.batch_size, "image_size": args.image_size, "source_size": args.source_size,
        "xla": jit_compile, "dtype_policy": policy,
    }


# ---- timing ----------------------------------------------------------------------------------------

def timed(function, *arguments, repeats=1):
    """(result of the last run, median seconds over `repeats` runs)."""
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = function(*arguments)
        seconds.append(time.perf_counter() - started)
    return result, float(np.median(seconds))


def vectorised_verification(embeddings, issame):
    return metrics.evaluate_verification(embeddings, issame, nrof_folds=FOLDS, far_target=FAR_TARGET)


def vectorised_rank(probes, probe_labels, gallery, gallery_labels):
    exact = metrics.rank_n_accuracy(probes, probe_labels, gallery, gallery_labels, ranks=(1, RANK_N))
    legacy = metrics.legacy_rank_n_accuracy(probes, probe_labels, gallery, gallery_labels, RANK_N)
    return exact[1], exact[RANK_N], legacy


def check_verification(fast, slow, folds_run=FOLDS):
    """The loop and the vectorised protocol agree on every figure of the folds the loop ran (and, when
    it ran them all, on the mean best threshold and the false pairs); returns the largest difference."""
    assert np.array_equal(fast["accuracy"][:folds_run], slow["accuracy"][:folds_run]), (fast["accuracy"],
                                                                                      slow["accuracy"])
    if folds_run == FOLDS:
        assert fast["best_threshold"] == slow["best_threshold"]
        assert np.array_equal(fast["fp_indices"], slow["fp_indices"])
        assert np.array_equal(fast["fn_indices"], slow["fn_indices"])
    differences = [np.max(np.abs(fast[key][:folds_run] - slow[key][:folds_run])) for key in ("val", "auc")]
    assert max(differences) <= 1e-9, differences
    return float(max(differences))


def benchmark_verification(args):
    embeddings, issame = verification_embeddings(args.pairs)
    fast, fast_seconds = timed(vectorised_verification, embeddings, issame, repeats=args.repeats)
    slow, slow_seconds = timed(loop_verification, embeddings, issame, FOLDS, FAR_TARGET, args.loop_folds)
    difference = check_verification(fast, slow, args.loop_folds)
    scaled = slow_seconds * FOLDS / args.loop_folds
    return {
        "verification_pairs": args.pairs, "verification_seconds": round(fast_seconds, 4),
        "verification_loop_folds": args.loop_folds, "verification_loop_seconds": round(slow_seconds, 3),
        "verification_loop_seconds_at_full_size": round(scaled, 3),
        "verification_loop_scaled": args.loop_folds != FOLDS,
        "verification_speedup": round(scaled / fast_seconds, 1),
        "verification_max_difference": difference,
        "accuracy_mean": fast["accuracy_mean"], "val_mean": fast["val_mean"], "auc_mean": fast["auc_mean"],
    }


def benchmark_rank(args):
    probes, probe_labels, gallery, gallery_labels = identification_embeddings(args.probes, args.gallery)
    fast, fast_seconds = timed(vectorised_rank, probes, probe_labels, gallery, gallery_labels, repeats=args.repeats)
    count = args.loop_probes
    fast_subset = vectorised_rank(probes[:count], probe_labels[:count], gallery, gallery_labels)
    slow, slow_seconds = timed(loop_rank, probes[:count], probe_labels[:count], gallery, gallery_labels)
    assert np.allclose(fast_subset, slow, rtol=0, atol=1e-12), (fast_subset, slow)
    scaled = slow_seconds * args.probes / count
    return {
        "rank_probes": args.probes, "rank_gallery": args.gallery, "rank_seconds": round(fast_seconds, 4),
        "rank_loop_probes": count, "rank_loop_seconds": round(slow_seconds, 3),
        "rank_loop_seconds_at_full_size": round(scaled, 3), "rank_loop_scaled": count != args.probes,
        "rank_speedup": round(scaled / fast_seconds, 1),
        "rank1": fast[0], "rank10": fast[1], "rank10_legacy": fast[2],
    }


def main(argv=None):
    args = parse_arguments(argv)
    started = time.perf_counter()
    result = {"benchmark": "evaluation", "load_average_at_start": round(os.getloadavg()[0], 2)}
    if not args.skip_extraction:
        result.update(benchmark_extraction(args))
        print(f"extraction: {result['extract_images_per_s']} images/s", file=sys.stderr)
    if not args.skip_metrics:
        result.update(benchmark_verification(args))
        print(f"verification: {result['verification_seconds']} s vs loop {result['verification_loop_seconds']} s",
              file=sys.stderr)
        result.update(benchmark_rank(args))
    result.update({
        "total_seconds": round(time.perf_counter() - started, 1),
        "cpu_count": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
        "tensorflow": tf.__version__, "numpy": np.__version__, "sklearn": sklearn.__version__,
        "command": " ".join(["python", "benchmarks/evaluation.py", *(sys.argv[1:] if argv is None else argv)]),
    })
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
