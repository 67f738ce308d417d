"""plot_tsne end to end on a tiny CaVI-layout folder, and its seeded image choice."""

import cv2
import pytest
from support.evaluation import save_untrained_model, write_image


def test_choose_images_is_seeded_and_keeps_identities_with_both_modalities():
    pytest.importorskip("cari_mtl.data.cavi")
    from cari_mtl.commands.plot_tsne import choose_images

    rows = [(f"{name}_{kind}_{n}.jpg", name, kind == "c") for name in "ABCD" for kind in "rc" for n in range(5)]
    rows += [("E_r_0.jpg", "E", False)]  # photos only: never chosen
    first = choose_images(rows, max_identities=3, max_images=2, seed=1)
    assert first == choose_images(rows, max_identities=3, max_images=2, seed=1)
    assert len({name for _, name, _ in first}) == 3 and "E" not in {name for _, name, _ in first}
    assert len(first) == 3 * 2 * 2
    assert first != choose_images(rows, max_identities=3, max_images=2, seed=2)


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_plot_tsne_end_to_end(tmp_path):
    pytest.importorskip("cari_mtl.data.cavi")
    from cari_mtl.commands import plot_tsne

    seed = 0
    for identity in ("Anna_Lee", "Bob_Stone", "Carl_Ito"):
        for n in range(1, 4):
            write_image(tmp_path / "data" / "Real" / identity / f"{identity}_r_{n}.jpg", seed)
            write_image(tmp_path / "data" / "Caricature" / identity / f"{identity}_c_{n}.jpg", seed + 50)
            seed += 1
    model_dir = save_untrained_model(tmp_path / "model")
    output = tmp_path / "figures" / "tsne.png"
    status = plot_tsne.main(["--model_dir", str(model_dir), "--data_dir", str(tmp_path / "data"),
                             "--output", str(output), "--embeddings", "branch"])
    assert status == 0
    assert cv2.imread(str(output)) is not None
