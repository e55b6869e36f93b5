from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch

from ktrdr.errors import NotFoundError, ValidationError
from ktrdr.training.bundle import load_bundle, save_bundle
from ktrdr.training.evaluation import predict_proba
from ktrdr.training.manifest import (
    WEIGHTS_FILE,
    discard_incomplete_version,
    next_version_dir,
    read_manifest,
)
from ktrdr.training.models import build_model, make_sequences

MLP = {"type": "mlp", "architecture": {"hidden_layers": [8], "dropout": 0.2}, "lookback": 1}
GRU = {"type": "gru", "architecture": {"hidden_size": 5, "bidirectional": True}, "lookback": 4}
METADATA = {
    "feature_names": ["1h_rsi_zone_low", "1h_rsi_zone_high", "1h_macd_raw"],
    "normalization": {"mean": np.array([0.5, 0.2, 0.0]), "std": np.array([1.0, 2.0, 0.1])},
    "seed": np.int64(7),
}


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    model = build_model(MLP, n_features=3, seed=1)
    return save_bundle(
        tmp_path / "v1", [model], seeds=[1], model_section=MLP, n_features=3, metadata=METADATA
    )


@pytest.mark.parametrize(("section", "rows"), [(MLP, 20), (GRU, 20)])
def test_round_trip_gives_identical_predictions(tmp_path: Path, section: dict, rows: int) -> None:
    model = build_model(section, n_features=3, seed=3)
    features = np.random.default_rng(0).normal(size=(rows, 3))
    if section["type"] == "gru":
        features = make_sequences(features, section["lookback"])
    save_bundle(
        tmp_path, [model], seeds=[3], model_section=section, n_features=3, metadata={"seed": 3}
    )
    loaded = load_bundle(tmp_path)
    assert not loaded.members[0].training
    expected = predict_proba(model, features)
    np.testing.assert_array_equal(predict_proba(loaded.members[0], features), expected)


def test_manifest_holds_metadata_and_provenance(saved: Path) -> None:
    metadata = load_bundle(saved).metadata
    assert metadata["feature_names"] == METADATA["feature_names"]
    assert metadata["normalization"]["std"] == [1.0, 2.0, 0.1]
    assert metadata["seed"] == 7
    assert metadata["model_section"] == MLP
    assert (metadata["n_features"], metadata["n_classes"]) == (3, 3)
    assert metadata["label_names"] == ["sell", "hold", "buy"]
    assert metadata["versions"]["torch"] == torch.__version__
    assert (metadata["format_version"], metadata["seeds"]) == (2, [1])
    assert sorted(p.name for p in saved.iterdir()) == ["bundle.json", "weights.safetensors"]


def test_loading_never_unpickles(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("torch.load must not be used")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr("pickle.load", refuse)
    monkeypatch.setattr("pickle.loads", refuse)
    assert len(load_bundle(saved).members) == 1


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garbage_with_matching_checksum(path: Path) -> None:
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not a header")
    manifest_path = path.parent / "bundle.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["weights_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))


def _edit_manifest(**changes):
    def edit(path: Path) -> None:
        manifest = json.loads(path.read_text())
        manifest.update(changes)
        path.write_text(json.dumps(manifest))

    return edit


@pytest.mark.parametrize(
    ("file", "damage", "fragment"),
    [
        ("weights.safetensors", _truncate, "truncated or was modified"),
        ("weights.safetensors", Path.unlink, "missing; the bundle is incomplete"),
        ("weights.safetensors", _garbage_with_matching_checksum, "not a valid safetensors file"),
        ("bundle.json", Path.unlink, "missing; the bundle is incomplete"),
        ("bundle.json", _truncate, "not a readable JSON bundle manifest"),
        ("bundle.json", lambda p: p.write_text("[1, 2]"), "expected a JSON object"),
        ("bundle.json", _edit_manifest(format_version=99), "format_version 99 is not supported"),
        ("bundle.json", _edit_manifest(n_features=4), "weights do not fit the model"),
        ("bundle.json", _edit_manifest(model_section={"type": "svm"}), "unknown model type"),
    ],
)
def test_damaged_bundle_names_the_file(saved: Path, file: str, damage, fragment: str) -> None:
    damage(saved / file)
    with pytest.raises(ValidationError) as info:
        load_bundle(saved)
    assert str(saved / file) in info.value.message
    assert fragment in info.value.message


def test_missing_folder_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no such folder"):
        load_bundle(tmp_path / "nope")


def test_save_refuses_mismatched_model_and_reserved_keys(tmp_path: Path) -> None:
    model = build_model(MLP, n_features=3)
    with pytest.raises(ValidationError, match="do not match model_section"):
        save_bundle(tmp_path, [model], seeds=[0], model_section=MLP, n_features=5, metadata={})
    with pytest.raises(ValidationError, match=r"\['n_features'\] are reserved"):
        save_bundle(
            tmp_path,
            [model],
            seeds=[0],
            model_section=MLP,
            n_features=3,
            metadata={"n_features": 1},
        )
    with pytest.raises(ValidationError, match="cannot be stored as JSON"):
        save_bundle(
            tmp_path, [model], seeds=[0], model_section=MLP, n_features=3, metadata={"x": object()}
        )
    assert not (tmp_path / "bundle.json").exists()


def test_save_refuses_non_finite_weights(tmp_path: Path) -> None:
    model = build_model(MLP, n_features=3)
    with torch.no_grad():
        next(model.parameters())[0, 0] = float("nan")
    with pytest.raises(ValidationError, match="NaN or inf"):
        save_bundle(tmp_path, [model], seeds=[0], model_section=MLP, n_features=3, metadata={})


def test_versions_count_up_from_the_highest(tmp_path: Path) -> None:
    assert next_version_dir(tmp_path, "eurusd_rsi") == tmp_path / "eurusd_rsi" / "v1"
    (tmp_path / "eurusd_rsi" / "v7").mkdir()
    (tmp_path / "eurusd_rsi" / "notes").mkdir()
    assert next_version_dir(tmp_path, "eurusd_rsi") == tmp_path / "eurusd_rsi" / "v8"


def test_concurrent_callers_get_distinct_versions(tmp_path: Path) -> None:
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(next_version_dir(tmp_path, "m")))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(p.name for p in results) == sorted(f"v{n}" for n in range(1, 9))


@pytest.mark.parametrize("name", ["../escape", "", "a/b", "-leading"])
def test_unsafe_model_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValidationError, match="model name"):
        next_version_dir(tmp_path, name)


def test_only_versions_without_a_complete_bundle_are_discarded(tmp_path: Path) -> None:
    reserved = next_version_dir(tmp_path, "m")
    half_written = next_version_dir(tmp_path, "m")
    (half_written / WEIGHTS_FILE).write_bytes(b"partial")
    complete = next_version_dir(tmp_path, "m")
    save_bundle(
        complete,
        [build_model(MLP, n_features=3)],
        seeds=[0],
        model_section=MLP,
        n_features=3,
        metadata={},
    )
    other = tmp_path / "m" / "notes"
    other.mkdir()

    assert discard_incomplete_version(reserved)
    assert discard_incomplete_version(half_written)
    assert not discard_incomplete_version(complete)
    assert not discard_incomplete_version(other)
    assert not discard_incomplete_version(tmp_path / "m" / "v99")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["notes", "v3"]
    assert next_version_dir(tmp_path, "m").name == "v4"


def test_an_ensemble_round_trips_with_every_member_and_seed(tmp_path: Path) -> None:
    members = [build_model(MLP, n_features=3, seed=s) for s in (4, 5, 6)]
    save_bundle(tmp_path, members, seeds=[4, 5, 6], model_section=MLP, n_features=3, metadata={})
    loaded = load_bundle(tmp_path)
    assert loaded.seeds == (4, 5, 6)
    features = np.random.default_rng(1).normal(size=(10, 3))
    for original, restored in zip(members, loaded.members, strict=True):
        np.testing.assert_array_equal(
            predict_proba(restored, features), predict_proba(original, features)
        )
    names = safetensors.torch.load_file(str(tmp_path / WEIGHTS_FILE))
    assert {key.split(".")[1] for key in names} == {"0", "1", "2"}


def write_format_1_bundle(folder: Path, model: torch.nn.Module, **extra: object) -> None:
    """A bundle as ktrdr wrote it before seed ensembles: one network, no seeds list."""
    safetensors.torch.save_file(model.state_dict(), str(folder / WEIGHTS_FILE))
    manifest = {
        "format_version": 1,
        "model_section": MLP,
        "n_features": 3,
        "n_classes": 3,
        "label_names": ["sell", "hold", "buy"],
        "weights_file": WEIGHTS_FILE,
        "weights_sha256": hashlib.sha256((folder / WEIGHTS_FILE).read_bytes()).hexdigest(),
        "versions": {},
        "created_at": "2026-01-01T00:00:00+00:00",
        "seed": 2,
        **extra,
    }
    (folder / "bundle.json").write_text(json.dumps(manifest))


def test_a_format_1_bundle_loads_as_a_one_member_ensemble(tmp_path: Path) -> None:
    model = build_model(MLP, n_features=3, seed=2)
    write_format_1_bundle(tmp_path, model)
    loaded = load_bundle(tmp_path)
    assert loaded.seeds == (2,)
    features = np.random.default_rng(1).normal(size=(10, 3))
    np.testing.assert_array_equal(
        predict_proba(loaded.members[0], features), predict_proba(model, features)
    )


def test_a_format_1_bundle_whose_inputs_were_redefined_is_refused(tmp_path: Path) -> None:
    strategy = {"indicators": {"obv_20": {"type": "obv"}, "rsi_14": {"type": "rsi"}}}
    write_format_1_bundle(tmp_path, build_model(MLP, n_features=3, seed=2), strategy=strategy)
    with pytest.raises(ValidationError, match="uses obv: these indicators were cumulative"):
        read_manifest(tmp_path / "bundle.json")


def test_an_unknown_format_version_is_refused_naming_it(saved: Path) -> None:
    _edit_manifest(format_version=3)(saved / "bundle.json")
    with pytest.raises(
        ValidationError, match="format_version 3 is not supported; this ktrdr reads"
    ):
        read_manifest(saved / "bundle.json")


def test_seeds_must_match_the_members(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="2 members need one seed each"):
        save_bundle(
            tmp_path,
            [build_model(MLP, n_features=3)] * 2,
            seeds=[1],
            model_section=MLP,
            n_features=3,
            metadata={},
        )
