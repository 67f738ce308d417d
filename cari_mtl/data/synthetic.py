"""A small synthetic CaVI-layout dataset of procedural faces, for tests and the demo.

    cari synthetic-data --output_dir D [--identities 8 --photos_per_id 5
        --caricatures_per_id 4 --image_size 96 --seed 0]

Public API:
    generate_dataset(output_dir, identities=8, photos_per_id=5, caricatures_per_id=4,
                     image_size=96, seed=0) -> SyntheticDataset(data_dir: Path, pairs_file: Path)

Layout (as the real CaVI dataset, PORTING D1, D2):
    D/CaVI_Dataset/Real/<Name>/<Name>_r_<n>.jpg
    D/CaVI_Dataset/Caricature/<Name>/<Name>_c_<n>.jpg
    D/train-test-files/testing_1.txt   `<name> Caricature/<Name>\\<file> <name> Real/<Name>\\<file> <1|0>`

Each identity draws a face (shape, eyes, brows, nose, mouth, skin and hair colours); photos add
a small pose, lighting and noise. A caricature exaggerates the identity's deviation from the mean
face and is drawn as line art or flat colours, so the caricature tasks are harder than the photo
task, as in the real data. The same arguments always give the same files.
"""

from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

# Shape parameters in units of the image size: (low, high); the mean face is the middle.
SHAPE_RANGES = {
    "face_w": (0.25, 0.36), "face_h": (0.33, 0.43), "eye_dx": (0.09, 0.15), "eye_y": (-0.09, -0.01),
    "eye_r": (0.025, 0.055), "brow_dy": (0.04, 0.09), "brow_tilt": (-0.35, 0.35), "nose_len": (0.05, 0.14),
    "nose_w": (0.02, 0.06), "mouth_y": (0.13, 0.24), "mouth_w": (0.06, 0.15), "mouth_curve": (-0.05, 0.05),
    "hair_h": (0.03, 0.16),
}
SKIN_TONES = np.array([[205, 225, 250], [160, 195, 235], [120, 160, 205], [80, 115, 160], [55, 80, 120]], float)
HAIR_COLOURS = np.array([[20, 20, 25], [30, 60, 110], [60, 120, 190], [170, 190, 210], [40, 40, 140]], float)
FIRST_NAMES = ("Ada", "Bruno", "Chloe", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas",
               "Kiri", "Luca", "Mara", "Nils", "Olga", "Pavel")
CARICATURE_GAIN = (1.8, 2.4)


class SyntheticDataset(NamedTuple):
    data_dir: Path
    pairs_file: Path


class Face(NamedTuple):
    shape: dict
    skin: np.ndarray
    hair: np.ndarray
    iris: np.ndarray


def identity_names(count):
    """Distinct names; past the first list a numeric suffix keeps them unique."""
    return [FIRST_NAMES[i % len(FIRST_NAMES)] + ("" if i < len(FIRST_NAMES) else f"_{i // len(FIRST_NAMES)}")
            for i in range(count)]


def random_face(rng):
    shape = {key: rng.uniform(low, high) for key, (low, high) in SHAPE_RANGES.items()}
    skin = SKIN_TONES[rng.integers(len(SKIN_TONES))] + rng.uniform(-15, 15, 3)
    hair = HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))] + rng.uniform(-15, 15, 3)
    return Face(shape, skin, hair, rng.uniform(30, 160, 3))


def exaggerate(face, gain):
    """The caricaturist's move: push each shape parameter away from the mean face."""
    shape = {}
    for key, (low, high) in SHAPE_RANGES.items():
        mean, half = (low + high) / 2, (high - low) / 2
        shape[key] = float(np.clip(mean + gain * (face.shape[key] - mean), mean - 2.5 * half, mean + 2.5 * half))
    shape["face_w"] = min(shape["face_w"], 0.45)
    shape["face_h"] = min(shape["face_h"], 0.46)
    return face._replace(shape=shape)


def draw_face(face, size, style, rng):
    """uint8 BGR [size, size, 3]; style is 'photo', 'line' or 'flat'."""
    s = face.shape
    scale = 16  # cv2 fixed-point shift of 4 bits for sub-pixel shapes
    centre = np.array([0.5, 0.55]) * size

    def pt(dx, dy):
        return tuple(int(round(v * scale)) for v in (centre[0] + dx * size, centre[1] + dy * size))

    def ax(a, b):
        return (int(round(a * size * scale)), int(round(b * size * scale)))

    line_art = style == "line"
    flat = style == "flat"
    if line_art:
        image = np.full((size, size, 3), 245, np.uint8)
        skin, hair, outline = (245, 245, 245), tuple(face.hair * 0.5), (15, 15, 15)
    else:
        background = rng.uniform(90, 170) + rng.uniform(-20, 20, 3) if not flat else rng.choice([60.0, 200.0], 3)
        image = np.empty((size, size, 3), np.uint8)
        image[:] = background.astype(np.uint8)
        palette = (lambda c: np.round(c / 64) * 64 + 20) if flat else (lambda c: c)
        skin, hair, outline = tuple(palette(face.skin)), tuple(palette(face.hair)), (20, 20, 20)
    thick = max(1, size // 48) + (1 if flat else 0)
    aa = cv2.LINE_AA
    cv2.ellipse(image, pt(0, -s["face_h"] * 0.55), ax(s["face_w"] * 1.08, s["face_h"] * 0.55 + s["hair_h"]),
                0, 180, 360, hair, -1, aa, 4)
    cv2.ellipse(image, pt(0, 0), ax(s["face_w"], s["face_h"]), 0, 0, 360, skin, -1, aa, 4)
    if line_art or flat:
        cv2.ellipse(image, pt(0, 0), ax(s["face_w"], s["face_h"]), 0, 0, 360, outline, thick, aa, 4)
    for side in (-1, 1):
        eye = pt(side * s["eye_dx"], s["eye_y"])
        cv2.ellipse(image, eye, ax(s["eye_r"] * 1.4, s["eye_r"]), 0, 0, 360, (250, 250, 250), -1, aa, 4)
        iris = outline if line_art else tuple(face.iris)
        cv2.circle(image, eye, int(s["eye_r"] * 0.7 * size * scale), iris, -1, aa, 4)
        if line_art or flat:
            cv2.ellipse(image, eye, ax(s["eye_r"] * 1.4, s["eye_r"]), 0, 0, 360, outline, thick, aa, 4)
        brow_y = s["eye_y"] - s["brow_dy"]
        tilt = side * s["brow_tilt"] * s["eye_r"] * 1.5
        cv2.line(image, pt(side * (s["eye_dx"] - s["eye_r"] * 1.6), brow_y + tilt),
                 pt(side * (s["eye_dx"] + s["eye_r"] * 1.6), brow_y - tilt), hair if not line_art else outline,
                 thick + 1, aa, 4)
    nose = np.array([pt(0, s["eye_y"] + 0.02), pt(-s["nose_w"], s["eye_y"] + s["nose_len"]),
                     pt(s["nose_w"], s["eye_y"] + s["nose_len"])], np.int32)
    nose_colour = outline if line_art else tuple(np.asarray(skin, float) * 0.7)
    cv2.polylines(image, [nose], True, nose_colour, thick, aa, 4)
    mouth_curve = s["mouth_curve"]
    mouth = np.array([pt(x * s["mouth_w"], s["mouth_y"] + mouth_curve * (1 - x * x)) for x in np.linspace(-1, 1, 9)],
                     np.int32)
    cv2.polylines(image, [mouth], False, outline if line_art else (40, 40, 150), thick + 1, aa, 4)
    return image


def photo_effects(image, rng):
    """Lighting gradient, moderate noise and a slight blur: what makes photos of one face differ."""
    size = image.shape[0]
    direction = rng.normal(size=2)
    direction /= np.linalg.norm(direction)
    grid = (np.indices((size, size)).transpose(1, 2, 0)[..., ::-1] / size - 0.5) @ direction
    light = rng.uniform(0.85, 1.1) + rng.uniform(0.1, 0.35) * grid
    noisy = image * light[..., None] + rng.normal(0, 6, image.shape)
    return cv2.GaussianBlur(np.clip(noisy, 0, 255).astype(np.uint8), (3, 3), 0.6)


def pose(image, rng, max_angle, max_shift):
    size = image.shape[0]
    matrix = cv2.getRotationMatrix2D((size / 2, size / 2), rng.uniform(-max_angle, max_angle),
                                     rng.uniform(0.92, 1.08))
    matrix[:, 2] += rng.uniform(-max_shift, max_shift, 2) * size
    return cv2.warpAffine(image, matrix, (size, size), borderMode=cv2.BORDER_REPLICATE)


def render_photo(face, size, rng):
    return photo_effects(pose(draw_face(face, size, "photo", rng), rng, 6, 0.03), rng)


def render_caricature(face, size, rng):
    drawn = draw_face(exaggerate(face, rng.uniform(*CARICATURE_GAIN)), size, rng.choice(["line", "flat"]), rng)
    return pose(drawn, rng, 15, 0.05)


def pair_lines(names, photos_per_id, caricatures_per_id, rng):
    """For each caricature: every photo of its identity (same) and as many photos of others (different),
    in a seeded random order so that keeping every n-th line keeps both kinds."""
    lines = []
    for a, name in enumerate(names):
        for c in range(1, caricatures_per_id + 1):
            cari = f"{name.lower()} Caricature/{name}\\{name}_c_{c}.jpg"
            for p in range(1, photos_per_id + 1):
                lines.append(f"{cari} {name.lower()} Real/{name}\\{name}_r_{p}.jpg 1")
                if len(names) > 1:
                    other = names[(a + 1 + rng.integers(len(names) - 1)) % len(names)]
                    photo = 1 + rng.integers(photos_per_id)
                    lines.append(f"{cari} {other.lower()} Real/{other}\\{other}_r_{photo}.jpg 0")
    return [lines[i] for i in rng.permutation(len(lines))]


def check_sizes(identities, photos_per_id, caricatures_per_id, image_size):
    """ValueError naming the flag when a count or the image size cannot make a dataset."""
    if identities < 1 or photos_per_id < 1 or caricatures_per_id < 1:
        raise ValueError("--identities, --photos_per_id and --caricatures_per_id must be at least 1")
    if image_size < 32:
        raise ValueError(f"--image_size {image_size} is too small to draw a face: use at least 32")


def generate_dataset(output_dir, identities=8, photos_per_id=5, caricatures_per_id=4, image_size=96, seed=0):
    """Writes the dataset under output_dir and returns (data_dir, pairs_file)."""
    check_sizes(identities, photos_per_id, caricatures_per_id, image_size)
    output_dir = Path(output_dir)
    data_dir = output_dir / "CaVI_Dataset"
    rng = np.random.default_rng(seed)
    names = identity_names(identities)
    for name in names:
        face = random_face(rng)
        for kind, count, render in (("Real", photos_per_id, render_photo),
                                    ("Caricature", caricatures_per_id, render_caricature)):
            folder = data_dir / kind / name
            folder.mkdir(parents=True, exist_ok=True)
            for n in range(1, count + 1):
                path = folder / f"{name}_{kind[0].lower()}_{n}.jpg"
                if not cv2.imwrite(str(path), render(face, image_size, rng), [cv2.IMWRITE_JPEG_QUALITY, 92]):
                    raise OSError(f"cannot write {path}: check that --output_dir is writable")
    pairs_file = output_dir / "train-test-files" / "testing_1.txt"
    pairs_file.parent.mkdir(parents=True, exist_ok=True)
    pairs_file.write_text("\n".join(pair_lines(names, photos_per_id, caricatures_per_id, rng)) + "\n")
    return SyntheticDataset(data_dir, pairs_file)
