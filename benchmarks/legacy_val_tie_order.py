"""How much numpy <= 1.16's tie order moves the original's VAL@FAR (PORTING E2), on synthetic pairs.

    python benchmarks/legacy_val_tie_order.py [--pairs 652 --sets 50 --seed 0 --noise 1.8]

Each set holds --pairs pairs of unit 128-d embeddings, half of them same pairs (one identity
centre plus Gaussian noise of --noise per dimension and unit scale for both images), in a random
order. For FAR 1e-3, 1e-2 and 1e-1 it prints the VAL mean over 10 folds of: the port's default
(threshold from the training folds, VAL on the test fold); the original's training-fold VAL with
the FAR curve taken in threshold order (the port's --legacy_val before numpy's tie order was
reproduced); and --legacy_val now (numpy 1.16's argsort before the interpolation, as the
original's scipy did). The first set is shown alone, then the mean over --sets sets and the share
of folds whose threshold changed. The last line is one JSON object.
"""

import argparse
import json

import numpy as np

from cari_mtl.evaluation import metrics

FAR_TARGETS = (1e-3, 1e-2, 1e-1)


def synthetic_distances(rng, nrof_pairs, noise, dimensions=128):
    """Squared L2 distances of unit embeddings and same/different labels, in a random order."""
    same = np.arange(nrof_pairs) < nrof_pairs // 2
    first_centre = rng.normal(size=(nrof_pairs, dimensions))
    second_centre = np.where(same[:, None], first_centre, rng.normal(size=(nrof_pairs, dimensions)))
    first = first_centre + noise * rng.normal(size=first_centre.shape)
    second = second_centre + noise * rng.normal(size=second_centre.shape)
    first /= np.linalg.norm(first, axis=1, keepdims=True)
    second /= np.linalg.norm(second, axis=1, keepdims=True)
    order = rng.permutation(nrof_pairs)
    return np.sum((first - second) ** 2, axis=1)[order], same[order]


def threshold_order_legacy(dist, same, far):
    """The training-fold VAL with the FAR curve in threshold order (stable sort of the ties)."""
    stable = metrics.legacy_argsort
    metrics.legacy_argsort = lambda values: np.argsort(values, kind="stable")
    try:
        return metrics.verification_from_distances(dist, same, 10, far, legacy_val=True)
    finally:
        metrics.legacy_argsort = stable


def measure(dist, same):
    """{far: (default, threshold-order legacy, numpy-1.16 legacy) results} for one set."""
    return {far: (metrics.verification_from_distances(dist, same, 10, far),
                  threshold_order_legacy(dist, same, far),
                  metrics.verification_from_distances(dist, same, 10, far, legacy_val=True))
            for far in FAR_TARGETS}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=652)
    parser.add_argument("--sets", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noise", type=float, default=1.8)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    sums = {far: np.zeros(3) for far in FAR_TARGETS}
    changed = {far: 0 for far in FAR_TARGETS}
    first = None
    for index in range(args.sets):
        results = measure(*synthetic_distances(rng, args.pairs, args.noise))
        if index == 0:
            first = {far: [r["val_mean"] for r in results[far]] for far in FAR_TARGETS}
            accuracy = results[FAR_TARGETS[0]][0]["accuracy_mean"]
            print(f"set 0 ({args.pairs} pairs, accuracy {accuracy:.3f}): VAL default / threshold-order "
                  "legacy / numpy-1.16 legacy")
            for far in FAR_TARGETS:
                print(f"  FAR {far:g}: " + " / ".join(f"{value:.3f}" for value in first[far]))
        for far in FAR_TARGETS:
            sums[far] += [r["val_mean"] for r in results[far]]
            changed[far] += int(np.sum(results[far][1]["val_thresholds"] != results[far][2]["val_thresholds"]))
    means = {far: (sums[far] / args.sets).tolist() for far in FAR_TARGETS}
    print(f"mean over {args.sets} sets:")
    for far in FAR_TARGETS:
        print(f"  FAR {far:g}: " + " / ".join(f"{value:.3f}" for value in means[far])
              + f"  (threshold changed in {changed[far]} of {10 * args.sets} folds)")
    print(json.dumps({"pairs": args.pairs, "sets": args.sets, "seed": args.seed, "noise": args.noise,
                      "first_set": {f"{far:g}": first[far] for far in FAR_TARGETS},
                      "mean": {f"{far:g}": means[far] for far in FAR_TARGETS},
                      "folds_changed": {f"{far:g}": changed[far] for far in FAR_TARGETS}}))


if __name__ == "__main__":
    main()
