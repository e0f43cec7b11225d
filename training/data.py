"""Data sets held whole in memory as uint8 tensors; nothing ever downloads.

- ``fashion-mnist`` (default): Debian's ``dataset-fashion-mnist`` package, IDX files, gzip, in
  /usr/share/datasets/fashion-mnist/ (or ``--data-dir``).
- ``cifar10``: the standard python-pickle folder ``cifar-10-batches-py/`` (or its parent) given
  by ``--data-dir``.
- ``synthetic``: small random images whose class decides a bright patch, learnable in a few
  steps; for tests.
Batches are float images in [0, 1], N x C x H x W, with random-crop / flip augmentation done on
whole batches (cheap next to the model), on the device the split lives on (``to_device``): on a
GPU the data set is resident and nothing crosses to the host during an epoch.
"""
from __future__ import annotations

import gzip
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from accelsim.formats import DATASET_SHAPES

DATASETS = ("fashion-mnist", "cifar10", "synthetic")
FASHION_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
                 "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


class DataError(Exception):
    """A data set is missing or malformed; the message is one line telling the user what to do."""


@dataclass(frozen=True)
class Split:
    images: torch.Tensor  # uint8, N x C x H x W
    labels: torch.Tensor  # int64, N

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class Dataset:
    name: str
    train: Split
    test: Split
    num_classes: int
    augment_flip: bool

    @property
    def in_channels(self) -> int:
        return self.train.images.shape[1]

    @property
    def image_size(self) -> int:
        return self.train.images.shape[2]


def load(name: str, data_dir: str | None = None, subset: int | None = None,
         seed: int = 0) -> Dataset:
    """Load a data set; ``subset`` keeps a seeded random N training images (test set whole)."""
    if name == "fashion-mnist":
        root = Path(data_dir or FASHION_DIR)
        train, test = (_read_idx_pair(root, *FASHION_FILES[s]) for s in ("train", "test"))
        data = Dataset(name, train, test, DATASET_SHAPES[name].classes, augment_flip=True)
    elif name == "cifar10":
        data = _read_cifar(data_dir)
    elif name == "synthetic":
        data = synthetic()
    else:
        raise DataError(f"--dataset {name!r}: choose one of {', '.join(DATASETS)}")
    if subset is not None:
        if subset < 1:
            raise DataError(f"--subset {subset}: must be >= 1")
        keep = torch.randperm(len(data.train), generator=_gen(seed))[:subset]
        data = Dataset(data.name, Split(data.train.images[keep], data.train.labels[keep]),
                       data.test, data.num_classes, data.augment_flip)
    return data


def synthetic(n_train: int = 512, n_test: int = 128, size: int = 12, channels: int = 1,
              num_classes: int = 4, seed: int = 0) -> Dataset:
    """Noise images with a bright square whose position is the class."""
    g = _gen(seed)

    def make(n):
        labels = torch.randint(0, num_classes, (n,), generator=g)
        images = torch.randint(0, 96, (n, channels, size, size), generator=g)
        half = size // 2
        for cls in range(num_classes):
            r, c = divmod(cls % 4, 2)
            images[labels == cls, :, r * half:(r + 1) * half, c * half:(c + 1) * half] += 150
        return Split(images.to(torch.uint8), labels)

    return Dataset("synthetic", make(n_train), make(n_test), num_classes, augment_flip=False)


def to_device(data: Dataset, device: str | torch.device) -> Dataset:
    """The data set with both splits on ``device`` (uint8: Fashion-MNIST is 55 MB)."""
    def move(split: Split) -> Split:
        return Split(split.images.to(device), split.labels.to(device))

    return Dataset(data.name, move(data.train), move(data.test), data.num_classes,
                   data.augment_flip)


def batches(split: Split, batch_size: int, shuffle: bool = False, augment: bool = False,
            flip: bool = True, seed: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Float [0, 1] image batches and labels on the split's device; augment = random crop
    (pad 4 / 2) and flip.  No step reads a value back to the host (no sync on a GPU)."""
    device = split.labels.device
    g = _gen(seed, device)
    order = (torch.randperm(len(split), generator=g, device=device) if shuffle
             else torch.arange(len(split), device=device))
    for start in range(0, len(split), batch_size):
        idx = order[start:start + batch_size]
        x = split.images[idx].float().div_(255)
        if augment:
            x = _random_crop(x, pad=4 if x.shape[-1] >= 32 else 2, g=g)
            if flip:
                mirror = torch.rand(len(x), generator=g, device=device) < 0.5
                x = torch.where(mirror[:, None, None, None], x.flip(-1), x)
        yield x, split.labels[idx]


def _random_crop(x: torch.Tensor, pad: int, g: torch.Generator) -> torch.Tensor:
    """Per-image random translation by up to ``pad`` pixels, zero fill, in one gather."""
    n, _, h, w = x.shape
    dev = x.device
    padded = F.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=g, device=dev)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=g, device=dev)
    rows = (dy[:, None] + torch.arange(h, device=dev))[:, None, :, None]   # n,1,h,1
    cols = (dx[:, None] + torch.arange(w, device=dev))[:, None, None, :]   # n,1,1,w
    return padded[torch.arange(n, device=dev)[:, None, None, None],
                  torch.arange(x.shape[1], device=dev)[None, :, None, None], rows, cols]


def _gen(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


# ----------------------------------------------------------------------------- file readers

def _missing_fashion(path: Path) -> DataError:
    return DataError(f"Fashion-MNIST not found ({path}): install it with "
                     "'apt-get install dataset-fashion-mnist' or point --data-dir at a folder "
                     "holding the four *-ubyte.gz files")


def _read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip or plain): magic 0x0000 08 <ndim>, big-endian dims, uint8 data."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise _missing_fashion(path) from None
    except (OSError, EOFError) as err:
        raise DataError(f"{path}: cannot be read ({err})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = np.frombuffer(raw, ">u4", ndim, 4).astype(int)
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise DataError(f"{path}: holds {data.size} bytes, its header says {tuple(dims)}")
    return data.reshape(dims)


def _read_idx_pair(root: Path, images_name: str, labels_name: str) -> Split:
    if not root.is_dir():
        raise _missing_fashion(root)
    images, labels = _read_idx(root / images_name), _read_idx(root / labels_name)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"{root}: {images_name} and {labels_name} do not match")
    return Split(torch.from_numpy(images.copy())[:, None], torch.from_numpy(labels.astype(np.int64)))


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles CIFAR-10's batch files and nothing else: a pickle may name any callable to run,
    so only the globals a numpy array needs to rebuild itself are found (dicts, lists, bytes,
    strings and numbers need none); anything else is refused before it runs."""

    # _codecs.encode: how Python 3's protocol-2 pickles carry bytes (a text codec, no code).
    ALLOWED = {(f"numpy{core}.multiarray", name) for core in (".core", "._core")
               for name in ("_reconstruct", "scalar")} | {
        ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"it names {module}.{name}, which a CIFAR-10 batch "
                                         "never holds (refused: a pickle can run code)")
        return super().find_class(module, name)


def _read_cifar_batch(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            batch = _CifarUnpickler(f, encoding="bytes").load()
    except FileNotFoundError:
        raise DataError(f"{path}: missing; a cifar-10-batches-py folder holds data_batch_1..5 "
                        "and test_batch") from None
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError,
            AttributeError, IndexError, MemoryError) as err:
        raise DataError(f"{path}: cannot be read ({err})") from None
    if not isinstance(batch, dict):
        raise DataError(f"{path}: not a CIFAR-10 batch (a pickled dict)")
    return batch


def _read_cifar(data_dir: str | None) -> Dataset:
    hint = ("CIFAR-10 needs --data-dir pointing at a local 'cifar-10-batches-py' folder (the "
            "python version from cs.toronto.edu); nothing is downloaded")
    if data_dir is None:
        raise DataError(hint)
    root = Path(data_dir)
    if (root / "cifar-10-batches-py").is_dir():
        root = root / "cifar-10-batches-py"
    if not (root / "data_batch_1").is_file():
        raise DataError(f"{root}: no data_batch_1; {hint}")
    size, channels, classes = DATASET_SHAPES["cifar10"]

    def read(names):
        images, labels = [], []
        for name in names:
            batch = _read_cifar_batch(root / name)
            try:
                data = np.asarray(batch[b"data"], np.uint8).reshape(-1, channels, size, size)
                batch_labels = [int(x) for x in batch[b"labels"]]
            except (KeyError, TypeError, ValueError) as err:
                raise DataError(f"{root / name}: not a CIFAR-10 batch (a dict of b'data', an "
                                f"N x 3072 uint8 array, and b'labels'): {err}") from None
            if len(batch_labels) != len(data) or not all(0 <= x < classes for x in batch_labels):
                raise DataError(f"{root / name}: {len(data)} images but {len(batch_labels)} "
                                f"labels, or a label outside 0..{classes - 1}")
            images.append(data)
            labels.extend(batch_labels)
        return Split(torch.from_numpy(np.concatenate(images)), torch.tensor(labels))

    return Dataset("cifar10", read([f"data_batch_{i}" for i in range(1, 6)]),
                   read(["test_batch"]), classes, augment_flip=True)
