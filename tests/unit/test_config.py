"""Settings from the environment, with the original NEXON variable names."""

from __future__ import annotations

import pytest

from nexon.config import Settings, SettingsError, redact_uri


def test_defaults() -> None:
    s = Settings.from_env({})
    assert (s.http_bind, s.grpc_bind, s.store_uri) == ("127.0.0.1:8000", "127.0.0.1:50051", "file://./nexon-data")
    assert s.max_upload_bytes == 1024**3 and s.enable_reflection is False


def test_original_variable_names() -> None:
    s = Settings.from_env({
        "GRPC_BIND": "0.0.0.0:6000", "GRPC_MAX_RECV_BYTES": "2048", "GRPC_MAX_SEND_BYTES": "4096",
        "ENABLE_REFLECTION": "1", "LOG_HEALTH": "1", "MODEL_CACHE_MAX": "3", "MODEL_CACHE_TTL": "90",
        "ORT_INTRA_OP_THREADS": "2", "ORT_INTER_OP_THREADS": "1", "ORT_GRAPH_OPT_LEVEL": "1",
        "NEXON_MONGO_URI": "mongodb://mongo:27017", "NEXON_MONGO_DB": "models",
    })
    assert s.grpc_address == ("0.0.0.0", 6000)
    assert (s.grpc_max_recv_bytes, s.grpc_max_send_bytes) == (2048, 4096)
    assert s.enable_reflection and s.log_health
    assert (s.cache_max_models, s.cache_ttl_s) == (3, 90.0)
    assert (s.ort_intra_op_threads, s.ort_inter_op_threads, s.ort_graph_opt_level) == (2, 1, "basic")
    assert (s.store_uri, s.mongo_db) == ("mongodb://mongo:27017", "models")


def test_nexon_store_wins_over_mongo_uri_and_flags_win_over_env() -> None:
    env = {"NEXON_STORE": "file:///data", "NEXON_MONGO_URI": "mongodb://m", "GRPC_BIND": "127.0.0.1:1"}
    s = Settings.from_env(env, grpc_bind="127.0.0.1:2")
    assert s.store_uri == "file:///data" and s.grpc_bind == "127.0.0.1:2"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"GRPC_BIND": "nonsense"}, "grpc_bind"),
        ({"MODEL_CACHE_MAX": "lots"}, "MODEL_CACHE_MAX"),
        ({"MODEL_CACHE_MAX": "0"}, "cache_max_models"),
        ({"ENABLE_REFLECTION": "maybe"}, "ENABLE_REFLECTION"),
        ({"ORT_GRAPH_OPT_LEVEL": "max"}, "ort_graph_opt_level"),
    ],
)
def test_bad_values_name_the_setting(env: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError, match=names):
        Settings.from_env(env)


def test_credentials_are_redacted() -> None:
    assert redact_uri("mongodb://user:secret@db:27017/x") == "mongodb://user:***@db:27017/x"
    assert redact_uri("file:///data") == "file:///data"
