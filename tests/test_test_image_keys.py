"""Which CaVI test images are the same for the per-epoch identification (PORTING D15): as spelled in
the pairs file (the original's `set(zip(...))`, default) or as found on disk (`resolved`)."""

from collections import Counter

import pytest

from cari_mtl.data.cavi import cavi_split

FILES = ["Real/Will_Smith/Will_Smith_r_1.jpg", "Real/Will_Smith/Will_Smith_r_2.jpg",
         "Caricature/Will_Smith/Will_Smith_c_1.jpg", "Caricature/Will_Smith/Will_Smith_c_2.jpg"]
# The same caricature three times: spelled twice alike, once with another folder case and once with
# another identity case; the photo r_1 twice alike.
PAIR_LINES = [
    r"Will_Smith Caricature/Will_Smith\Will_Smith_c_1.jpg Will_Smith Real/Will_Smith\Will_Smith_r_1.jpg 1",
    r"Will_Smith Caricature/Will_Smith\Will_Smith_c_1.jpg Will_Smith Real/Will_Smith\Will_Smith_r_1.jpg 1",
    r"Will_Smith Caricature/will_smith\Will_Smith_c_1.jpg Will_Smith Real/Will_Smith\Will_Smith_r_2.jpg 1",
    r"will_smith Caricature/Will_Smith\Will_Smith_c_1.jpg Will_Smith Real/Will_Smith\Will_Smith_r_2.jpg 1",
]


def original_test_images(data_dir, lines):
    """The original's test-image list, transcribed: paths joined as spelled, ids as spelled, then
    set(zip(paths, ids, cari)); returned as a Counter of (lower-cased path, upper-cased id, cari)
    so that it can be compared with the port's disk paths and labels."""
    paths, ids, cari = [], [], []
    for line in lines:
        fields = line.strip().split(" ")
        cari_folder, cari_file = fields[1].split("\\")
        real_folder, real_file = fields[3].split("\\")
        paths += [f"{data_dir}/{cari_folder}/{cari_file}", f"{data_dir}/{real_folder}/{real_file}"]
        ids += [fields[0], fields[2]]
        cari += [1, 0]
    unique = set(zip(paths, ids, cari))
    return Counter((path.lower(), identity.upper(), flag) for path, identity, flag in unique)


@pytest.fixture
def tree(tmp_path):
    data = tmp_path / "CaVI_Dataset"
    for name in FILES:
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_bytes(b"x")
    pairs = tmp_path / "testing_1.txt"
    pairs.write_text("\n".join(PAIR_LINES) + "\n")
    return data, pairs


def port_test_images(split):
    return Counter((path.lower(), split.class_names[label], int(flag))
                   for path, label, flag in zip(split.test_paths, split.test_labels, split.test_is_caricature))


def test_spelled_keys_count_an_image_once_per_spelling_as_the_original(tree):
    data, pairs = tree
    split = cavi_split(data, pairs, downsample=1)
    assert port_test_images(split) == original_test_images(data, PAIR_LINES)
    caricature = str(data / "Caricature/Will_Smith/Will_Smith_c_1.jpg")
    assert split.test_paths.count(caricature) == 3  # hand count: three spellings
    photo_1, photo_2 = (str(data / f"Real/Will_Smith/Will_Smith_r_{n}.jpg") for n in (1, 2))
    assert split.test_paths == [caricature, photo_1, caricature, photo_2, caricature]  # first-occurrence order


def test_resolved_keys_count_each_disk_image_once(tree):
    data, pairs = tree
    split = cavi_split(data, pairs, downsample=1, test_image_keys="resolved")
    assert split.test_paths == [str(data / "Caricature/Will_Smith/Will_Smith_c_1.jpg"),
                                str(data / "Real/Will_Smith/Will_Smith_r_1.jpg"),
                                str(data / "Real/Will_Smith/Will_Smith_r_2.jpg")]
    assert split.test_is_caricature.tolist() == [1, 0, 0]
