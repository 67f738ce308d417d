"""The synthetic CaVI-layout generator: layout, pairs file, determinism, speed, harder caricatures."""

import time

import numpy as np
import pytest

from cari_mtl.commands import synthetic_data
from cari_mtl.data import synthetic
from cari_mtl.data.cavi import list_cavi_images, load_cavi_pairs
from cari_mtl.images.eval_loader import read_rgb


def test_layout_and_pairs_file(tmp_path):
    started = time.perf_counter()
    data_dir, pairs_file = synthetic.generate_dataset(tmp_path, identities=10, photos_per_id=5,
                                                      caricatures_per_id=4, image_size=96, seed=3)
    assert time.perf_counter() - started < 2.0
    images = list_cavi_images(data_dir)
    assert len(images) == 10 * 9 and sum(cari for _, _, cari in images) == 40
    assert all(read_rgb(path).shape == (96, 96, 3) for path, _, _ in images[:3])
    pairs = load_cavi_pairs(pairs_file, data_dir, downsample=1)
    assert not pairs.skips.counts and len(pairs.issame) == 2 * 10 * 4 * 5
    assert sum(pairs.issame) == 10 * 4 * 5
    assert all((a == b) == same for (a, b), same in zip(pairs.pair_ids, pairs.issame))
    assert "\\" in pairs_file.read_text().splitlines()[0]  # the CaVI backslash format


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    first = synthetic.generate_dataset(tmp_path / "a", identities=3, photos_per_id=2, caricatures_per_id=2,
                                       image_size=48, seed=1)
    again = synthetic.generate_dataset(tmp_path / "b", identities=3, photos_per_id=2, caricatures_per_id=2,
                                       image_size=48, seed=1)
    other = synthetic.generate_dataset(tmp_path / "c", identities=3, photos_per_id=2, caricatures_per_id=2,
                                       image_size=48, seed=2)
    files = sorted(p.relative_to(first.data_dir) for p in first.data_dir.rglob("*.jpg"))
    assert all((first.data_dir / f).read_bytes() == (again.data_dir / f).read_bytes() for f in files)
    assert first.pairs_file.read_text() == again.pairs_file.read_text()
    assert any((first.data_dir / f).read_bytes() != (other.data_dir / f).read_bytes() for f in files)


def test_caricatures_are_further_from_the_identity_photos_than_photos_are(tmp_path):
    data_dir, _ = synthetic.generate_dataset(tmp_path, identities=4, photos_per_id=4, caricatures_per_id=4,
                                             image_size=64, seed=0)
    by_identity = {}
    for path, identity, cari in list_cavi_images(data_dir):
        by_identity.setdefault(identity, ([], []))[int(cari)].append(read_rgb(path).astype(float))
    for photos, caricatures in by_identity.values():
        mean_photo = np.mean(photos, axis=0)
        photo_distance = np.mean([np.abs(p - mean_photo).mean() for p in photos])
        cari_distance = np.mean([np.abs(c - mean_photo).mean() for c in caricatures])
        assert cari_distance > 1.5 * photo_distance


def test_cli_writes_the_dataset_and_refuses_bad_sizes(tmp_path, capsys):
    assert synthetic_data.main(["--output_dir", str(tmp_path), "--identities", "2", "--photos_per_id", "1",
                           "--caricatures_per_id", "1", "--image_size", "40"]) == 0
    assert f"pairs_file: {tmp_path / 'train-test-files' / 'testing_1.txt'}" in capsys.readouterr().out
    assert synthetic_data.main(["--output_dir", str(tmp_path), "--image_size", "16"]) == 2
    assert "--image_size 16" in capsys.readouterr().err
    with pytest.raises(ValueError, match="--identities"):
        synthetic.generate_dataset(tmp_path, identities=0)
