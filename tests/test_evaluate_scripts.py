"""The three evaluate/*.py scripts end to end on tiny datasets written in the real file formats (PORTING D1-D6)."""

import json
import re
from pathlib import Path

import cv2
import pytest
from support.evaluation import IDENTITIES, SCRIPTS, save_untrained_model, script_main, write_cavi, write_image  # noqa: F401

from cari_mtl.commands.evaluate_webcavi_identify import protocol_folds


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return str(save_untrained_model(tmp_path_factory.mktemp("model") / "model"))


def only_run_dir(logs):
    runs = list(Path(logs).iterdir())
    assert len(runs) == 1, runs
    return runs[0]


def check_verification_outputs(run_dir, expected_pairs):
    document = json.loads((run_dir / "metrics.json").read_text())
    assert set(document) == {"accuracy_mean", "accuracy_std", "val_mean", "val_std", "far", "auc_mean",
                             "auc_std", "best_threshold", "pairs_same", "pairs_different", "val_at_far_0.001",
                             "val_at_far_0.01", "val_at_far_0.1", "majority_baseline", "pooled_auc",
                             "far_resolution", "one_class_folds", "auc_mean_all_folds", "far_unresolved"}
    assert (run_dir / "scores.npz").is_file()
    assert (document["pairs_same"], document["pairs_different"]) == expected_pairs
    text = (run_dir / "validation_on_dataset.txt").read_text()
    accuracy = re.search(r"Average accuracy: ([\d.]+)\+-([\d.]+)", text)
    assert float(accuracy[1]) == pytest.approx(document["accuracy_mean"], abs=5e-4)
    fp = re.search(r"False positive pairs: (\d+) / (\d+)", text)
    fn = re.search(r"False negative pairs: (\d+) / (\d+)", text)
    assert (int(fp[2]), int(fn[2])) == (expected_pairs[1], expected_pairs[0])
    listed = (text[fp.end():fn.start()].strip().splitlines()[1:]
              + text[fn.end():text.index("ROC:")].strip().splitlines()[1:])
    assert len(listed) == int(fp[1]) + int(fn[1])
    assert all(Path(path).is_file() for line in listed for path in line.split()[1:])
    assert len(re.findall(r"^tpr/fpr: [\d.]+/[\d.]+$", text, re.M)) == 400
    for figure in ("roc.png", "roc_fold_mean.png", "distances.png", "false_pairs.png"):
        assert cv2.imread(str(run_dir / figure)) is not None
    assert len(list((run_dir / "false_images" / "false_positive").iterdir())) == int(fp[1])
    return document


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_evaluate_cavi_end_to_end(tmp_path, model_dir):
    pytest.importorskip("cari_mtl.data.cavi")
    data = tmp_path / "CaVI_Dataset"
    nrof_lines = write_cavi(data)
    logs = tmp_path / "logs"
    status = script_main("evaluate_cavi.py")([
        "--data_dir", str(data), "--model_dir", model_dir, "--test_pairs", str(data / "testing_1.txt"),
        "--downsample", "2", "--seed", "3", "--logs_base_dir", str(logs), "--lfw_batch_size", "16",
    ])
    assert status == 0
    # Every 2nd line of the 48: lines 0, 2, ... are same pairs exactly when both identities match.
    kept = list(range(0, nrof_lines, 2))
    same = sum(1 for i in kept if (i // 3) % (len(IDENTITIES) + 1) == 0)
    check_verification_outputs(only_run_dir(logs), (same, len(kept) - same))


def write_webcari(root):
    """<Identity>/C0000n.jpg, P0000n.jpg and the protocol files of PORTING D5 (tab separated, CRLF)."""
    seed = 0
    for identity in IDENTITIES:
        for n in range(1, 4):
            write_image(root / "faces" / identity / f"C{n:05d}.jpg", seed + 100)
            write_image(root / "faces" / identity / f"P{n:05d}.jpg", seed)
            seed += 1
    lines = ["header\r\n"]
    for a, first in enumerate(IDENTITIES):
        for n in (1, 2, 3):
            lines.append(f"{first}\tC{n:05d}\tP{4 - n:05d}\r\n")
            second = IDENTITIES[(a + 1) % len(IDENTITIES)]
            lines.append(f"{first}\tC{n:05d}\t{second}\tP{n:05d}\r\n")
    (root / "FV_Test.txt").write_text("".join(lines))
    protocol = root / "protocol"
    protocol.mkdir()
    for k in (1, 2):
        for kind, probe_prefix, gallery_prefix in (("C2P", "C", "P"), ("P2C", "P", "C")):
            probes = ["header\r\n"] + [f"{i}\t{probe_prefix}{k:05d}\r\n" for i in IDENTITIES]
            gallery = ["header\r\n"] + [f"{i}\t{gallery_prefix}{n:05d}\r\n" for i in IDENTITIES for n in (1, 2, 3)]
            (protocol / f"FR_Probe_{kind}{k}.txt").write_text("".join(probes))
            (protocol / f"FR_Gallery_{kind}{k}.txt").write_text("".join(gallery))
    return root / "faces", root / "FV_Test.txt", protocol


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_evaluate_webcavi_end_to_end(tmp_path, model_dir):
    pytest.importorskip("cari_mtl.data.webcari")
    faces, pairs_file, _ = write_webcari(tmp_path)
    logs = tmp_path / "logs"
    status = script_main("evaluate_webcavi.py")([
        "--data_dir", str(faces), "--model_dir", model_dir, "--test_pairs", str(pairs_file),
        "--logs_base_dir", str(logs), "--far", "0.1", "--lfw_nrof_folds", "4",
    ])
    assert status == 0
    document = check_verification_outputs(only_run_dir(logs), (12, 12))
    assert document["far"] == 0.1


def test_evaluate_webcavi_identify_end_to_end(tmp_path, model_dir):
    pytest.importorskip("cari_mtl.data.webcari")
    faces, _, protocol = write_webcari(tmp_path)
    logs = tmp_path / "logs"
    status = script_main("evaluate_webcavi_identify.py")([
        "--data_dir", str(faces), "--model_dir", model_dir, "--probe", str(protocol), "--gallery", str(protocol),
        "--protocol", "both", "--lfw_nrof_folds", "2", "--rank_n", "3", "--logs_base_dir", str(logs),
    ])
    assert status == 0
    run_dir = only_run_dir(logs)
    document = json.loads((run_dir / "metrics.json").read_text())
    assert set(document) == {"C2P", "P2C"}
    for values in document.values():
        assert set(values) == {"rank1_mean", "rank1_std", "rank3_mean", "rank3_std"}
        assert 0.0 <= values["rank1_mean"] <= values["rank3_mean"] <= 1.0
    assert cv2.imread(str(run_dir / "cmc.png")) is not None
    text = (run_dir / "Rank_on_dataset.txt").read_text()
    assert re.findall(r"^Protocol (\w+) \(2 folds", text, re.M) == ["C2P", "P2C"]
    rank1 = [float(v) for v in re.findall(r"^Rank1 accuracy: ([\d.]+)\+-", text, re.M)]
    assert rank1 == pytest.approx([document["C2P"]["rank1_mean"], document["P2C"]["rank1_mean"]], abs=5e-4)


def test_missing_pairs_file_exits_with_status_two(tmp_path, model_dir, capsys):
    pytest.importorskip("cari_mtl.data.cavi")
    from cari_mtl.commands.cli import run_cli

    main = script_main("evaluate_cavi.py")
    status = run_cli(main, ["--data_dir", str(tmp_path), "--model_dir", model_dir,
                            "--test_pairs", str(tmp_path / "absent.txt"), "--logs_base_dir", str(tmp_path)])
    assert status == 2
    assert "absent.txt" in capsys.readouterr().err


def test_identification_compares_identities_upper_cased(tmp_path):
    faces, _, protocol = write_webcari(tmp_path)
    probe_file = protocol / "FR_Probe_C2P1.txt"
    probe_file.write_text(probe_file.read_text().replace("Anna_Lee", "anna_lee"))  # the folder is Anna_Lee
    [(probe_paths, probe_labels, _, gallery_labels)] = protocol_folds(protocol, protocol, faces, 1, "C2P")
    assert probe_labels[0] == "ANNA_LEE" and probe_labels[0] in gallery_labels
    assert probe_paths[0] == str(faces / "Anna_Lee" / "C00001.jpg")
