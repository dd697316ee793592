"""The classifier model file (textseq/classify/model_file.py): round trips of meta and arrays,
flatten/unflatten of torch state, atomic and direct writes, every read error, and mutation fuzzing
of the reader (a mutated valid file reads as a model whose arrays have their declared shapes, or
fails with one InputError; nothing else)."""

from __future__ import annotations

import copy
import json
import math
import mmap
import os
import random
import resource
import signal
import stat
import struct
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given

from fuzzing import bounded, check_reader, fuzz_settings, mutations
from textseq.classify.model_file import (
    DTYPES,
    MAGIC,
    VERSION,
    ModelFile,
    flatten,
    is_model_file,
    read_model_file,
    unflatten,
    write_model_file,
)
from textseq.errors import InputError, OutputError

PREFIX = struct.Struct("<Q")
BODY = 512
"""Where the arrays of a hand-made file start: its header is padded to end there."""

META = {
    "name": "café 東京 — ünïcode ✓ 😀",
    "labels": ["pos", "neg", "naïve"],
    "config": {"dim": 3, "lr": 0.1, "nested": {"deep": [[], [1, 2.5, None, True, False, "x"]], "empty": {}}},
    "count": 12345678901234567890,
    "nothing": None,
}


def _sample(dtype: str, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    kind = np.dtype(dtype)
    if kind.kind == "b":
        return rng.random(shape) > 0.5
    if kind.kind == "f":
        return (rng.standard_normal(shape) * 100).astype(kind)
    info = np.iinfo(kind)
    return rng.integers(info.min, info.max, size=shape, dtype=kind, endpoint=True)


def _header(data: bytes) -> dict[str, Any]:
    (length,) = PREFIX.unpack(data[len(MAGIC) : len(MAGIC) + PREFIX.size])
    start = len(MAGIC) + PREFIX.size
    header: dict[str, Any] = json.loads(data[start : start + length])
    return header


def _craft(header: object, body: bytes = b"", *, raw: bytes | None = None) -> bytes:
    """A file made by hand: ``header`` (JSON, or ``raw`` bytes) padded to end at :data:`BODY`
    (unless longer), then ``body``."""
    text = raw if raw is not None else json.dumps(header).encode()
    room = max(BODY - len(MAGIC) - PREFIX.size, len(text))
    return MAGIC + PREFIX.pack(room) + text + b" " * (room - len(text)) + body


def _table(**entries: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "meta": {}, "arrays": entries}


def _error(path: Path) -> str:
    """The message read_model_file gives for ``path``: one line, naming the path."""
    with pytest.raises(InputError) as caught:
        read_model_file(str(path))
    message = str(caught.value)
    assert str(path) in message and "\n" not in message
    return message


def _mapped(array: np.ndarray) -> bool:
    base = array.base
    while base is not None:
        if isinstance(base, mmap.mmap):
            return True
        base = base.obj if isinstance(base, memoryview) else getattr(base, "base", None)
    return False


# round trips


def test_every_dtype_and_shape_round_trips(tmp_path):
    shapes = [(), (0,), (0, 3), (5,), (2, 3, 4), (1, 1, 1, 1, 1, 1, 1, 2)]
    arrays = {f"{dtype}/{shape}": _sample(dtype, shape, seed=i) for i, dtype in enumerate(DTYPES) for shape in shapes}
    path = tmp_path / "m.bin"
    write_model_file(path, META, arrays)
    assert is_model_file(str(path))
    model = read_model_file(str(path))
    assert isinstance(model, ModelFile)
    assert model.meta == META
    assert list(model.arrays) == list(arrays)
    for name, array in arrays.items():
        read = model.arrays[name]
        assert read.dtype.str == array.dtype.str and read.shape == array.shape, name
        assert np.array_equal(read, array, equal_nan=True), name
    header = _header(path.read_bytes())
    assert header["version"] == VERSION == 1 and header["meta"] == META


def test_int8_and_bool_are_among_the_types_written(tmp_path):
    """numpy spells one-byte types with '|': a '<i1' in DTYPES rejected every int8 array."""
    write_model_file(tmp_path / "m", {}, {"i": np.array([-128, 127], np.int8), "b": np.array([True, False])})
    model = read_model_file(tmp_path / "m")
    assert model.arrays["i"].tolist() == [-128, 127] and model.arrays["b"].tolist() == [True, False]


def test_a_0d_array_stays_0d(tmp_path):
    write_model_file(tmp_path / "m", {}, {"step": np.float32(3.5), "n": np.array(7, np.int64)})
    model = read_model_file(tmp_path / "m")
    assert model.arrays["step"].shape == () and model.arrays["step"] == np.float32(3.5)
    assert model.arrays["n"].shape == () and int(model.arrays["n"]) == 7


def test_nothing_but_meta_and_nothing_at_all(tmp_path):
    write_model_file(tmp_path / "a", {}, {})
    write_model_file(tmp_path / "b", {"only": "meta"}, {})
    assert read_model_file(tmp_path / "a") == ModelFile({}, {})
    assert read_model_file(tmp_path / "b") == ModelFile({"only": "meta"}, {})


def test_big_endian_arrays_are_stored_little_endian(tmp_path):
    big = {"f": np.arange(6, dtype=">f4").reshape(2, 3) / 7, "i": np.array([1, -2, 1 << 40], dtype=">i8"), "u": np.array([1, 513], ">u2")}
    path = tmp_path / "m"
    write_model_file(path, {}, big)
    data = path.read_bytes()
    table = _header(data)["arrays"]
    for name, array in big.items():
        little = array.astype(array.dtype.newbyteorder("<"))
        assert table[name]["dtype"] == little.dtype.str and little.dtype.str.startswith("<")
        offset = table[name]["offset"]
        assert data[offset : offset + little.nbytes] == little.tobytes()
        assert np.array_equal(read_model_file(path).arrays[name], array)


def test_non_contiguous_arrays_are_written_in_c_order(tmp_path):
    source = np.arange(24, dtype=np.float64).reshape(4, 6)
    arrays = {"t": source.T, "s": source[:, ::2], "f": np.asfortranarray(source)}
    write_model_file(tmp_path / "m", {}, arrays)
    model = read_model_file(tmp_path / "m")
    for name, array in arrays.items():
        assert np.array_equal(model.arrays[name], array) and model.arrays[name].flags.c_contiguous


def test_read_arrays_are_read_only_views_of_a_map(tmp_path):
    path = tmp_path / "m"
    write_model_file(path, {}, {"w": np.ones((3, 4), np.float32), "empty": np.zeros((0, 4), np.float32), "s": np.float64(2)})
    model = read_model_file(path)
    assert _mapped(model.arrays["w"]) and _mapped(model.arrays["s"])
    for name, array in model.arrays.items():
        assert not array.flags.writeable, name
        with pytest.raises(ValueError, match="read-only"):
            array[...] = 0


def test_writable_gives_copies_that_leave_the_file_alone(tmp_path):
    path = tmp_path / "m"
    write_model_file(path, {}, {"w": np.ones((3, 4), np.float32), "empty": np.zeros((0, 4), np.float32)})
    before = path.read_bytes()
    model = read_model_file(path, writable=True)
    for array in model.arrays.values():
        assert array.flags.writeable and not _mapped(array)
    model.arrays["w"][1, 2] = 5
    assert model.arrays["w"].sum() == 16
    assert path.read_bytes() == before
    assert read_model_file(path).arrays["w"].sum() == 12


def test_offsets_and_mapped_arrays_are_aligned(tmp_path):
    arrays = {
        "a": np.ones(3, np.int8),
        "b": np.ones(5, np.float64),
        "c": np.ones((0,), np.float32),
        "d": np.ones(7, np.float16),
        "e": np.ones(1),
    }
    path = tmp_path / "m"
    write_model_file(path, {"x": "y" * 1000}, arrays)
    data = path.read_bytes()
    (length,) = PREFIX.unpack(data[20:28])
    table = _header(data)["arrays"]
    ends = len(MAGIC) + PREFIX.size + length
    for name in arrays:
        assert table[name]["offset"] % 64 == 0 and table[name]["offset"] >= ends
    assert data[len(MAGIC) + PREFIX.size + length - 1 : ends] in (b" ", b"}")
    model = read_model_file(path)
    for name in ("a", "b", "d", "e"):
        assert model.arrays[name].ctypes.data % 64 == 0


def test_many_arrays_fit_the_header_room(tmp_path):
    arrays = {f"layer.{i}.weight": np.full((i % 5, 3), i, np.float32) for i in range(300)}
    write_model_file(tmp_path / "m", {}, arrays)
    model = read_model_file(tmp_path / "m")
    assert all(np.array_equal(model.arrays[name], array) for name, array in arrays.items())


def test_a_path_like_is_accepted(tmp_path):
    write_model_file(tmp_path / "m", {"a": 1}, {"x": np.zeros(2)})
    assert read_model_file(tmp_path / "m").meta == {"a": 1}


@pytest.mark.parametrize(
    ("meta", "arrays"),
    [
        ({"x": math.nan}, {}),
        ({"x": math.inf}, {}),
        ({"x": {1, 2}}, {}),
        ({"x": np.float32(1)}, {}),
        ({}, {"s": np.array(["abcd"])}),
        ({}, {"o": np.array([object()])}),
        ({}, {"c": np.zeros(2, np.complex64)}),
        ({}, {"d": np.array(["2020-01-01"], "datetime64[D]")}),
        ({}, {"r": np.zeros(2, [("a", "<f4"), ("b", "<i4")])}),
        ({}, {"deep": np.zeros((1,) * 9)}),
        ({}, {3: np.zeros(2)}),
    ],
    ids=["nan", "inf", "set", "numpy-number", "str", "object", "complex", "datetime", "record", "9-d", "int-name"],
)
def test_what_a_model_file_cannot_hold_is_a_value_error(meta, arrays, tmp_path):
    with pytest.raises(ValueError, match=r"not plain JSON|cannot hold|more than 8|names must be strings"):
        write_model_file(tmp_path / "m", meta, arrays)
    assert not os.listdir(tmp_path)


def test_is_model_file(tmp_path):
    write_model_file(tmp_path / "m", {}, {})
    (tmp_path / "t").write_text("hello\n")
    assert is_model_file(str(tmp_path / "m"))
    assert not is_model_file(str(tmp_path / "t"))
    assert not is_model_file(str(tmp_path / "missing"))
    assert not is_model_file(str(tmp_path))


# flatten and unflatten


def _to_torch(tree: object) -> object:
    import torch

    if isinstance(tree, np.ndarray):
        return torch.from_numpy(tree)
    if isinstance(tree, dict):
        return {key: _to_torch(value) for key, value in tree.items()}
    if isinstance(tree, list):
        return [_to_torch(value) for value in tree]
    return tree


def _store(tmp_path: Path, trees: dict[str, object], *, writable: bool = False) -> tuple[dict[str, object], str]:
    """``trees`` flattened, written, read back and unflattened."""
    arrays: dict[str, np.ndarray] = {}
    meta = {name: flatten(tree, name, arrays) for name, tree in trees.items()}
    path = str(tmp_path / "state.bin")
    write_model_file(path, meta, arrays)
    model = read_model_file(path, writable=writable)
    return {name: unflatten(model.meta[name], model.arrays, path) for name in trees}, path


def _network() -> Any:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Embedding(7, 4), torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2))


def test_a_module_state_dict_round_trips(tmp_path):
    torch = pytest.importorskip("torch")
    network = _network()
    network.train()
    network(torch.tensor([1, 2, 3, 4]))
    state = network.state_dict()
    restored, _ = _store(tmp_path, {"model": state})
    tree = restored["model"]
    assert isinstance(tree, dict) and list(tree) == list(state)
    for name, tensor in state.items():
        assert isinstance(tree[name], np.ndarray) and tree[name].shape == tuple(tensor.shape), name
        assert np.array_equal(tree[name], tensor.numpy()), name
    assert tree["2.num_batches_tracked"].shape == () and tree["2.num_batches_tracked"].dtype == np.int64
    fresh = _network()
    torch.nn.init.zeros_(fresh[1].weight)
    fresh.load_state_dict(_to_torch({name: np.array(value) for name, value in tree.items()}))
    fresh.eval(), network.eval()
    words = torch.tensor([0, 5, 6])
    assert torch.equal(fresh(words), network(words))


def _step(network: Any, optimizer: Any) -> None:
    import torch

    optimizer.zero_grad()
    network(torch.tensor([1, 2, 3, 4])).square().sum().backward()
    optimizer.step()


def test_an_adamw_state_dict_after_one_step_round_trips_and_loads(tmp_path):
    torch = pytest.importorskip("torch")
    network = _network()
    optimizer = torch.optim.AdamW(network.parameters(), lr=0.01, weight_decay=0.1)
    _step(network, optimizer)
    state = optimizer.state_dict()
    restored, _ = _store(tmp_path, {"model": network.state_dict(), "optimizer": state}, writable=True)
    tree = restored["optimizer"]
    assert isinstance(tree, dict) and set(tree) == {"state", "param_groups"}
    assert list(tree["state"]) == list(state["state"]) and all(isinstance(key, int) for key in tree["state"])
    for key, entry in state["state"].items():
        for name, value in entry.items():
            got = tree["state"][key][name]
            assert got.shape == tuple(value.shape) and np.array_equal(got, value.numpy()), (key, name)
    group, original = tree["param_groups"][0], state["param_groups"][0]
    assert group["params"] == original["params"] and group["lr"] == original["lr"] and group["betas"] == list(original["betas"])
    assert group["foreach"] is None and group["amsgrad"] is False

    fresh_network = _network()
    fresh_network.load_state_dict(_to_torch(restored["model"]))
    fresh = torch.optim.AdamW(fresh_network.parameters(), lr=0.5)
    fresh.load_state_dict(_to_torch(tree))
    assert fresh.param_groups[0]["lr"] == 0.01
    for key, entry in state["state"].items():
        for name, value in entry.items():
            assert torch.equal(fresh.state_dict()["state"][key][name], value), (key, name)
    _step(network, optimizer)
    _step(fresh_network, fresh)
    for mine, theirs in zip(network.parameters(), fresh_network.parameters(), strict=True):
        assert torch.equal(mine, theirs)


def test_bfloat16_tensors_become_float32():
    torch = pytest.importorskip("torch")
    tensor = torch.tensor([1.5, -2.25, 3e38], dtype=torch.bfloat16)
    arrays: dict[str, np.ndarray] = {}
    assert flatten({"w": tensor}, "m", arrays) == {"dict": [["w", {"array": "m/w"}]]}
    assert arrays["m/w"].dtype == np.float32 and np.array_equal(arrays["m/w"], tensor.float().numpy())


def test_a_tensor_that_needs_grad_and_a_parameter_flatten():
    torch = pytest.importorskip("torch")
    arrays: dict[str, np.ndarray] = {}
    flatten([torch.ones(2, requires_grad=True), torch.nn.Parameter(torch.zeros(3))], "p", arrays)
    assert arrays["p/0"].tolist() == [1, 1] and arrays["p/1"].tolist() == [0, 0, 0]


def test_non_finite_floats_survive(tmp_path):
    tree = {"values": [math.inf, -math.inf, math.nan, 1.5, -0.0, 1e-310], "best": math.inf}
    restored, _ = _store(tmp_path, {"tree": tree})
    values = restored["tree"]["values"]  # type: ignore[index]
    assert values[:2] == [math.inf, -math.inf] and math.isnan(values[2]) and values[3:] == [1.5, -0.0, 1e-310]
    assert math.copysign(1, values[4]) == -1 and restored["tree"]["best"] == math.inf  # type: ignore[index]


def test_plain_values_keys_and_nesting_survive(tmp_path):
    tree = {"a": 1, 2: "two", "list": [None, True, [], {}, (1, 2)], "nested": {0: {1: [np.arange(3)]}}, "big": 1 << 70}
    restored, _ = _store(tmp_path, {"tree": tree})
    got = restored["tree"]
    assert isinstance(got, dict) and list(got) == ["a", 2, "list", "nested", "big"]
    assert got["a"] == 1 and got[2] == "two" and got["list"] == [None, True, [], {}, [1, 2]] and got["big"] == 1 << 70
    assert np.array_equal(got["nested"][0][1][0], np.arange(3))


@pytest.mark.parametrize(
    "tree",
    [object(), {(1, 2): 3}, {1.5: 2}, np.float32(1), b"bytes", {1, 2}, 1 + 2j, [1, [2, {"x": object()}]]],
    ids=["object", "tuple-key", "float-key", "numpy-number", "bytes", "set", "complex", "nested"],
)
def test_an_unsupported_object_is_a_value_error(tree):
    with pytest.raises(ValueError, match=r"cannot be stored|only string and integer keys"):
        flatten(tree, "m", {})


def test_two_arrays_under_one_name_are_a_value_error():
    with pytest.raises(ValueError, match="two arrays"):
        flatten({"a/b": np.zeros(1), "a": {"b": np.ones(1)}}, "m", {})
    with pytest.raises(ValueError, match="two arrays"):
        flatten({1: np.zeros(1), "1": np.ones(1)}, "m", {})


def test_a_tensor_numpy_lacks_is_a_value_error():
    torch = pytest.importorskip("torch")
    if not hasattr(torch, "float8_e4m3fn"):
        pytest.skip("no float8 in this torch")
    with pytest.raises(ValueError, match="float8"):
        flatten(torch.zeros(2, dtype=torch.float8_e4m3fn), "m", {})


# writing: atomic for files, direct for FIFOs, OutputError for what cannot be written


def test_a_rejected_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "m"
    write_model_file(path, {"old": True}, {"w": np.ones(4)})
    before = path.read_bytes()
    for arrays in ({"w": np.zeros(4), "bad": np.array(["x"])}, {"w": np.zeros(4), "bad": np.zeros(2, np.complex128)}):
        with pytest.raises(ValueError, match="cannot hold"):
            write_model_file(path, {"new": True}, arrays)
        assert path.read_bytes() == before
    with pytest.raises(ValueError, match="not plain JSON"):
        write_model_file(path, {"new": math.nan}, {})
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m"]


def test_a_write_that_fails_midway_leaves_the_old_file(tmp_path):
    """A disk that fills while the arrays go out (the file size limit makes write() fail EFBIG):
    one OutputError, the old file as it was, no temporary file left."""
    path = tmp_path / "m"
    write_model_file(path, {"old": True}, {"w": np.ones(4)})
    before = path.read_bytes()
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (8192, hard))
    try:
        with pytest.raises(OutputError) as caught:
            write_model_file(path, {"new": True}, {"w": np.zeros(1 << 16)})
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert str(path) in str(caught.value)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m"]


def test_writing_to_a_fifo_goes_straight_in(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as pipe:
            received.append(pipe.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    arrays = {"w": _sample("<f4", (50, 30)), "i": _sample("<i8", (7,)), "z": np.zeros((0, 2))}
    write_model_file(fifo, META, arrays)
    reader.join(10)
    assert not reader.is_alive() and stat.S_ISFIFO(os.stat(fifo).st_mode)
    write_model_file(tmp_path / "file", META, arrays)
    assert received == [(tmp_path / "file").read_bytes()]
    (tmp_path / "copy").write_bytes(received[0])
    model = read_model_file(tmp_path / "copy")
    assert model.meta == META and all(np.array_equal(model.arrays[name], array) for name, array in arrays.items())


def test_a_read_only_folder_is_an_output_error(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError) as caught:
            write_model_file(folder / "m", {}, {"w": np.ones(2)})
    finally:
        folder.chmod(0o700)
    assert "m" in str(caught.value) and not os.listdir(folder)


def test_a_folder_or_a_missing_folder_is_an_output_error(tmp_path):
    with pytest.raises(OutputError, match="directory"):
        write_model_file(tmp_path, {}, {})
    with pytest.raises(OutputError, match="folder does not exist"):
        write_model_file(tmp_path / "no" / "m", {}, {})


# reading: every damage one InputError naming the file


def test_a_missing_file_and_a_folder(tmp_path):
    assert "no such file" in _error(tmp_path / "missing")
    assert "directory" in _error(tmp_path)


def test_a_fifo_or_a_device_is_refused_without_waiting(tmp_path):
    """A FIFO nobody writes to would block open() itself; callers copy streams to a file first
    (textseq.streams.as_regular_file)."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with bounded(seconds=5):
        assert "not a regular file" in _error(fifo)
    if os.path.exists("/dev/null"):
        with pytest.raises(InputError, match="not a regular file"):
            read_model_file("/dev/null")


F8 = {"dtype": "<f8", "shape": [8], "offset": BODY}

DAMAGED: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "no format mark"),
    "text": (b"__label__pos a fine film\n" * 4, "no format mark"),
    "wrong-magic": (b"TEXTSEQ-CLASSIFIEX\n\0" + PREFIX.pack(2) + b"{}", "no format mark"),
    "half-a-mark": (MAGIC[:10], "no format mark"),
    "truncated-length": (MAGIC + b"\x05\x00\x00", "ends inside its header"),
    "length-past-the-end": (MAGIC + PREFIX.pack(1_000_000) + b'{"version": 1}', "declares a header of 1,000,000 bytes"),
    "length-2**64-1": (MAGIC + PREFIX.pack(2**64 - 1) + b"{}", "declares a header"),
    "header-cut": (MAGIC + PREFIX.pack(30) + b'{"version": 1, "meta": {}, "a', "declares a header of 30 bytes"),
    "not-utf-8": (_craft(None, raw=b'{"version": 1, "meta": {"x": "\xff\xfe"}, "arrays": {}}'), "damaged"),
    "not-json": (_craft(None, raw=b"version = 1"), "damaged"),
    "json-list": (_craft([1, 2]), "not a JSON object"),
    "json-string": (_craft("model"), "not a JSON object"),
    "no-version": (_craft({"meta": {}, "arrays": {}}), "format version is None"),
    "version-2": (_craft({"version": 2, "meta": {}, "arrays": {}}), "version 2 is newer than this textseq reads (1): upgrade"),
    "version-0": (_craft({"version": 0, "meta": {}, "arrays": {}}), "version is 0"),
    "version-string": (_craft({"version": "1", "meta": {}, "arrays": {}}), "version is '1'"),
    "version-true": (_craft({"version": True, "meta": {}, "arrays": {}}), "version is True"),
    "version-float": (_craft({"version": 1.0, "meta": {}, "arrays": {}}), "version is 1.0"),
    "nan": (_craft(None, raw=b'{"version": 1, "meta": {"loss": NaN}, "arrays": {}}'), "NaN is not a JSON number"),
    "infinity": (_craft(None, raw=b'{"version": 1, "meta": {"loss": -Infinity}, "arrays": {}}'), "-Infinity is not a JSON number"),
    "1e999": (_craft(None, raw=b'{"version": 1, "meta": {"loss": 1e999}, "arrays": {}}'), "too large a number"),
    "5000-digits": (_craft(None, raw=b'{"version": 1, "meta": {}, "arrays": {}, "n": ' + b"9" * 5000 + b"}"), "damaged"),
    "deep-json": (_craft(None, raw=b'{"version": 1, "meta": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"), "damaged"),
    "no-meta": (_craft({"version": 1, "arrays": {}}), "no 'meta' object"),
    "meta-list": (_craft({"version": 1, "meta": [], "arrays": {}}), "no 'meta' object"),
    "no-arrays": (_craft({"version": 1, "meta": {}}), "no 'arrays' table"),
    "arrays-list": (_craft({"version": 1, "meta": {}, "arrays": [F8]}), "no 'arrays' table"),
    "entry-list": (_craft(_table(w=[1, 2])), "'w' in the model file has no description"),
    "array-past-the-end": (_craft(_table(w={**F8, "shape": [1000]}), bytes(64)), "'w' lies past the end"),
    "array-cut-by-a-byte": (_craft(_table(w=F8), bytes(63)), "'w' lies past the end"),
    "huge-shape": (_craft(_table(w={**F8, "shape": [2**20, 2**20]}), bytes(64)), "'w' lies past the end"),
    "huge-3d": (_craft(_table(w={**F8, "shape": [2**61, 2**61, 2**61]}), bytes(64)), "damaged shape"),
    "empty-but-vast": (_craft(_table(w={**F8, "shape": [0, 2**61, 2**61]})), "damaged shape"),
    "dim-2**62": (_craft(_table(w={**F8, "shape": [2**62]})), "damaged shape"),
    "9-dims": (_craft(_table(w={**F8, "shape": [1] * 9}), bytes(64)), "damaged shape"),
    "object-dtype": (_craft(_table(w={**F8, "dtype": "|O"}), bytes(64)), "unknown type '|O'"),
    "str-dtype": (_craft(_table(w={**F8, "dtype": "<U4"}), bytes(64)), "unknown type '<U4'"),
    "void-dtype": (_craft(_table(w={**F8, "dtype": "|V8"}), bytes(64)), "unknown type '|V8'"),
    "big-endian": (_craft(_table(w={**F8, "dtype": ">f8"}), bytes(64)), "unknown type '>f8'"),
    "numpy-name": (_craft(_table(w={**F8, "dtype": "float64"}), bytes(64)), "unknown type 'float64'"),
    "list-dtype": (_craft(_table(w={**F8, "dtype": ["<f8"]}), bytes(64)), "unknown type ['<f8']"),
    "no-dtype": (_craft(_table(w={"shape": [8], "offset": BODY}), bytes(64)), "unknown type None"),
    "negative-offset": (_craft(_table(w={**F8, "offset": -64}), bytes(64)), "damaged offset -64"),
    "unaligned-offset": (_craft(_table(w={**F8, "offset": BODY + 8}), bytes(72)), f"damaged offset {BODY + 8}"),
    "offset-in-the-header": (_craft(_table(w={**F8, "offset": 64}), bytes(64)), "damaged offset 64"),
    "offset-0": (_craft(_table(w={**F8, "offset": 0}), bytes(64)), "damaged offset 0"),
    "string-offset": (_craft(_table(w={**F8, "offset": str(BODY)}), bytes(64)), "damaged offset '512'"),
    "float-offset": (_craft(_table(w={**F8, "offset": float(BODY)}), bytes(64)), "damaged offset 512.0"),
    "bool-offset": (_craft(_table(w={**F8, "offset": True}), bytes(64)), "damaged offset True"),
    "huge-offset": (_craft(_table(w={**F8, "offset": 2**64}), bytes(64)), "damaged offset"),
    "negative-dim": (_craft(_table(w={**F8, "shape": [-1]}), bytes(64)), "damaged shape [-1]"),
    "negative-pair": (_craft(_table(w={**F8, "shape": [-2, -4]}), bytes(64)), "damaged shape [-2, -4]"),
    "bool-dim": (_craft(_table(w={**F8, "shape": [True, 8]}), bytes(64)), "damaged shape [True, 8]"),
    "float-dim": (_craft(_table(w={**F8, "shape": [8.0]}), bytes(64)), "damaged shape [8.0]"),
    "nested-dim": (_craft(_table(w={**F8, "shape": [[8]]}), bytes(64)), "damaged shape [[8]]"),
    "shape-number": (_craft(_table(w={**F8, "shape": 8}), bytes(64)), "damaged shape 8"),
    "no-shape": (_craft(_table(w={"dtype": "<f8", "offset": BODY}), bytes(64)), "damaged shape None"),
    "overlap": (_craft(_table(a=F8, b={**F8, "dtype": "<i8"}), bytes(64)), "'a' and 'b' in the model file overlap"),
    "newline-in-a-name": (_craft(_table(**{"a\nb": {**F8, "dtype": "?"}}), bytes(64)), "'a\\nb'"),
}


@pytest.mark.parametrize("name", DAMAGED)
def test_a_damaged_file_is_one_input_error(name, tmp_path):
    data, expected = DAMAGED[name]
    path = tmp_path / "damaged.bin"
    path.write_bytes(data)
    started = time.perf_counter()
    with bounded(seconds=10, memory=256 << 20):
        message = _error(path)
    assert expected in message
    assert time.perf_counter() - started < 2


def test_the_hand_made_files_are_right_when_undamaged(tmp_path):
    """What DAMAGED changes, unchanged, reads: each case fails for its damage alone."""
    body = np.arange(8, dtype="<f8").tobytes()
    for name, table in {
        "one": _table(w=F8),
        "two": _table(a=F8, b={**F8, "offset": BODY + 64}),
        "i1": _table(w={**F8, "dtype": "|i1"}),
    }.items():
        path = tmp_path / name
        path.write_bytes(_craft(table, body * 2))
        model = read_model_file(path)
        assert set(model.arrays) == set(table["arrays"])
    assert np.array_equal(read_model_file(tmp_path / "one").arrays["w"], np.arange(8))


def test_an_empty_array_with_vast_other_dimensions_reads(tmp_path):
    path = tmp_path / "m"
    path.write_bytes(_craft(_table(w={**F8, "shape": [0, 2**40], "offset": BODY})))
    array = read_model_file(path).arrays["w"]
    assert array.shape == (0, 2**40) and array.size == 0 and not array.flags.writeable


def test_a_file_cut_anywhere_is_an_input_error(tmp_path):
    path = tmp_path / "m"
    write_model_file(path, META, {"w": _sample("<f4", (4, 5)), "b": _sample("<f8", (3,))})
    data = path.read_bytes()
    for cut in range(0, len(data) - 1, 7):
        path.write_bytes(data[:cut])
        _error(path)
    path.write_bytes(data)
    assert read_model_file(path).meta == META


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        ({"array": "m/missing"}, "does not hold ('m/missing')"),
        ({"array": 3}, "does not hold (3)"),
        ({"dict": [[1]]}, "damaged table"),
        ({"dict": [["a", 1, 2]]}, "damaged table"),
        ({"dict": [[["a"], 1]]}, "damaged table"),
        ({"dict": [[None, 1]]}, "damaged table"),
        ({"dict": ["a"]}, "damaged table"),
        ({"dict": {"a": 1}}, "damaged entry"),
        ({"list": 3}, "damaged entry"),
        ({"float": "1.5"}, "damaged entry"),
        ({"float": ["inf"]}, "damaged entry"),
        ({"x": 1}, "damaged entry"),
        ({}, "damaged entry"),
        ({"array": "m/w", "extra": 1}, "damaged entry"),
        ([1, 2], "damaged entry"),
        ({"list": [{"dict": [["k", {"array": "nope"}]]}]}, "does not hold ('nope')"),
    ],
)
def test_unflatten_of_a_damaged_tree_is_an_input_error(tree, expected):
    with pytest.raises(InputError) as caught:
        unflatten(tree, {"m/w": np.zeros(2)}, "model.bin")
    assert str(caught.value).startswith("model.bin: ") and expected in str(caught.value)


def test_unflatten_of_a_tree_nested_too_deep_is_an_input_error():
    tree: object = {"array": "m/w"}
    for _ in range(5000):
        tree = {"list": [tree]}
    with pytest.raises(InputError, match="nested too deep"):
        unflatten(tree, {"m/w": np.zeros(2)}, "model.bin")


# fuzzing


def _valid_file() -> bytes:
    arrays: dict[str, np.ndarray] = {
        "weights": _sample("<f4", (4, 3)),
        "bias": _sample("<f8", (3,)),
        "none": np.zeros((0, 5), np.int64),
        "flag": np.array(True),
        "counts": _sample("|u1", (2, 2, 2)),
        "half": _sample("<f2", (5,)),
    }
    tree = flatten(
        {"state": {0: {"step": np.array(1, np.float32), "m": np.ones(2, np.float32)}}, "groups": [{"lr": 0.1, "betas": (0.9, 0.99)}]},
        "opt",
        arrays,
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.bin"
        write_model_file(path, {**META, "optimizer": tree, "best": 1.0}, arrays)
        return path.read_bytes()


VALID = _valid_file()
VALUES: list[object] = [
    -1, 0, 1, 63, 64, 512, 1 << 31, 1 << 40, 1 << 62, 1 << 63, 1 << 64, -(1 << 70), 1.5, True, False, None, "x", "", [], {},
    [0], [-1], [1 << 40, 1 << 40], [0, 1 << 61, 1 << 61], [True], [[1]], [1] * 9, "<f4", "<f8", "|u1", "|b1", "|O", "<U4", "|V8",
    ">f4", {"array": "weights"}, {"array": "missing"}, {"dict": [[1]]}, {"list": 1}, {"float": "nan"},
]  # fmt: skip


def _paths(node: object, at: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every place in a JSON tree a mutation may change: keys of objects, items of lists."""
    places = [at]
    if isinstance(node, dict):
        for key, value in node.items():
            places += _paths(value, (*at, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            places += _paths(value, (*at, i))
    return places


def _edit_header(data: bytes, rng: random.Random) -> bytes:
    """The header decoded, one field (anywhere in it: version, meta, a dtype, shape or offset)
    replaced, deleted or given a sibling, and encoded again: padded to its old length where it
    still fits (the arrays stay where they were), else at its new length (the arrays shift)."""
    start = len(MAGIC) + PREFIX.size
    (length,) = PREFIX.unpack(data[len(MAGIC) : start])
    header = _header(data)
    edited = copy.deepcopy(header)
    at = rng.choice(_paths(edited)[1:])
    parent: Any = edited
    for key in at[:-1]:
        parent = parent[key]
    action = rng.random()
    if action < 0.15 and isinstance(parent, dict):
        del parent[at[-1]]
    elif action < 0.25 and isinstance(parent, dict):
        parent[f"{at[-1]}2"] = copy.deepcopy(parent[at[-1]])
    elif action < 0.35 and isinstance(parent[at[-1]], int) and not isinstance(parent[at[-1]], bool):
        parent[at[-1]] += rng.choice([-64, -1, 1, 64, 4096])
    else:
        parent[at[-1]] = copy.deepcopy(rng.choice(VALUES))
    text = json.dumps(edited, ensure_ascii=rng.random() < 0.5).encode()
    if len(text) <= length and rng.random() < 0.8:
        text += b" " * (length - len(text))
    return MAGIC + PREFIX.pack(len(text)) + text + data[start + length :]


def _mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    (length,) = PREFIX.unpack(data[len(MAGIC) : len(MAGIC) + PREFIX.size])
    kind = rng.choice(["header-flip", "header-flip", "flip", "truncate", "edit", "edit", "edit"])
    mutated = bytearray(data)
    if kind == "edit":
        return kind, _edit_header(data, rng)
    if kind == "truncate":
        return kind, data[: rng.randrange(len(data))]
    end = len(MAGIC) + PREFIX.size + length if kind == "header-flip" else len(data)
    for _ in range(rng.randint(1, 4)):
        mutated[rng.randrange(end)] ^= 1 << rng.randrange(8)
    return kind, bytes(mutated)


def _check_model(path: str, data: bytes) -> ModelFile:
    """What a read that succeeds promises: the arrays the header declares, each of its declared
    type and shape, read-only, every byte of it readable; meta that is plain JSON again."""
    model = read_model_file(path)
    table = _header(data)["arrays"]
    assert set(model.arrays) == set(table)
    for name, array in model.arrays.items():
        assert array.dtype.str == table[name]["dtype"] and array.shape == tuple(table[name]["shape"]), name
        assert not array.flags.writeable
        array.tobytes()
    json.dumps(model.meta, allow_nan=False)
    tree = model.meta.get("optimizer")
    if tree is not None:
        message = f"{path}: "
        try:
            unflatten(tree, model.arrays, path)
        except InputError as exc:
            message = str(exc)
        assert message.startswith(f"{path}: ") and "\n" not in message
    return model


def test_the_valid_file_reads():
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "m.bin")
        Path(path).write_bytes(VALID)
        model = _check_model(path, VALID)
    assert len(model.arrays) == 8 and model.meta["name"] == META["name"]
    optimizer = unflatten(model.meta["optimizer"], model.arrays, path)
    assert optimizer["state"][0]["step"] == 1 and optimizer["groups"] == [{"lr": 0.1, "betas": [0.9, 0.99]}]  # type: ignore[index]


def test_seeded_mutations_read_or_fail_cleanly(tmp_path):
    rng = random.Random(16)
    path = str(tmp_path / "fuzzed.bin")
    outcomes = {"read": 0, "error": 0}
    kinds: dict[str, int] = {}
    started = time.perf_counter()
    for i in range(300):
        kind, data = _mutate(VALID, rng)
        kinds[kind] = kinds.get(kind, 0) + 1
        Path(path).write_bytes(data)
        try:
            with bounded(seconds=10, memory=256 << 20):
                _check_model(path, data)
            outcomes["read"] += 1
        except InputError as exc:
            message = str(exc)
            assert message.startswith(f"{path}: ") and "\n" not in message, (i, kind, message)
            outcomes["error"] += 1
        except Exception as exc:
            raise AssertionError(f"mutation {i} ({kind}) raised {exc!r}") from exc
    elapsed = time.perf_counter() - started
    assert outcomes["read"] > 20 and outcomes["error"] > 100, outcomes
    assert set(kinds) == {"header-flip", "flip", "truncate", "edit"}
    assert elapsed < 20, elapsed


@fuzz_settings
@given(data=mutations(VALID))
def test_hypothesis_mutations_read_or_fail_cleanly(data, tmp_path_factory):
    check_reader(lambda path: _check_model(path, data), data, tmp_path_factory.mktemp("fuzzed"), ".bin")
