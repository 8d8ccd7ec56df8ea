"""The connection to Milvus and the passages' collection: its schema and how it is opened.

One row per live passage, keyed by its passage key (`index/store/passage_keys.py`): the
passage's vector; its text as articlebot's own analyser reads it (Snowball stems, stop words
removed, joined by spaces), which Milvus's standard tokenizer splits back into the same
terms for its BM25 function; and the fields filters read. Milvus Lite has no stemming
analyser, and a server's would not be Snowball with Lucene's stop words: analysing here
keeps one analysis whichever backend answers.
"""

from __future__ import annotations

import logging
import threading
import traceback
from dataclasses import dataclass
from typing import Any

from index.errors import MilvusUnavailableError

ID, VECTOR, TEXT, SPARSE = "id", "vector", "text", "sparse"
COLLECTION, ARTICLE, OUTLET, DATED, FIRST, LAST = (
    "collection",
    "article",
    "outlet",
    "dated",
    "first",
    "last",
)
# Milvus's longest VARCHAR, in bytes.
MAX_VARCHAR = 65_535
# Longest stored collection, article id and outlet: ids and names are far shorter; a longer
# one is cut (the article field is informational, and a cut outlet or collection name would
# only fail to match a filter naming it whole).
MAX_NAME = 1_024
# Milvus's largest top-k.
MAX_LIMIT = 16_384


@dataclass(frozen=True, slots=True)
class MilvusTarget:
    """Where the passages live: a server's URI or a Milvus Lite `.db` file, and the
    collection's name."""

    uri: str
    collection: str

    @property
    def lite(self) -> bool:
        return self.uri.endswith(".db")


class _WithoutTimestampRefusals(logging.Filter):
    """Milvus Lite's embedded gRPC server has no AllocTimestamp, which pymilvus asks for
    after writes and then does without; gRPC logs each refusal as an error with a
    traceback. Those records are dropped, every other one kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info is None or not isinstance(record.exc_info[1], NotImplementedError):
            return True
        return "AllocTimestamp" not in "".join(traceback.format_tb(record.exc_info[2]))


_TIMESTAMP_REFUSALS = _WithoutTimestampRefusals()
_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def client_for(target: MilvusTarget) -> Any:
    """The process's one client for `target.uri` (Milvus Lite allows one per file, and a
    server connection is shared by threads)."""
    try:
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException
    except ImportError:
        raise MilvusUnavailableError(
            target.uri, "pymilvus is not installed (pip install 'articlebot[milvus]')"
        ) from None

    with _clients_lock:
        client = _clients.get(target.uri)
        if client is None:
            if target.lite:
                logging.getLogger("grpc._server").addFilter(_TIMESTAMP_REFUSALS)
            try:
                client = _clients[target.uri] = MilvusClient(uri=target.uri)
            except MilvusException as exc:
                raise MilvusUnavailableError(target.uri, str(exc.message)) from None
        return client


def forget_client(uri: str) -> None:
    """Close and forget the process's client for `uri` (tests, and a server restarted)."""
    with _clients_lock:
        client = _clients.pop(uri, None)
    if client is not None:
        client.close()


def create(target: MilvusTarget, dimension: int) -> None:
    """The passages' collection, empty: an existing one of that name is dropped first."""
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    client = client_for(target)
    if client.has_collection(target.collection):
        client.drop_collection(target.collection)
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field(ID, DataType.INT64, is_primary=True)
    schema.add_field(VECTOR, DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_field(
        TEXT,
        DataType.VARCHAR,
        max_length=MAX_VARCHAR,
        enable_analyzer=True,
        analyzer_params={"tokenizer": "standard"},
    )
    schema.add_field(SPARSE, DataType.SPARSE_FLOAT_VECTOR)
    # Most questions search one server's collections: the partition key keeps each
    # collection's passages together, so such a search reads only their partitions.
    schema.add_field(COLLECTION, DataType.VARCHAR, max_length=MAX_NAME, is_partition_key=True)
    schema.add_field(ARTICLE, DataType.VARCHAR, max_length=MAX_NAME)
    schema.add_field(OUTLET, DataType.VARCHAR, max_length=MAX_NAME)
    schema.add_field(DATED, DataType.BOOL)
    schema.add_field(FIRST, DataType.DOUBLE)
    schema.add_field(LAST, DataType.DOUBLE)
    schema.add_function(
        Function(
            name="bm25",
            function_type=FunctionType.BM25,
            input_field_names=[TEXT],
            output_field_names=[SPARSE],
        )
    )
    indexes = client.prepare_index_params()
    indexes.add_index(VECTOR, index_type="AUTOINDEX", metric_type="IP")
    indexes.add_index(SPARSE, index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    client.create_collection(target.collection, schema=schema, index_params=indexes)


def open_collection(target: MilvusTarget) -> Any:
    """The client, with the passages' collection loaded for search; an error naming the
    setting when it is missing."""
    client = client_for(target)
    if not client.has_collection(target.collection):
        raise MilvusUnavailableError(
            target.uri,
            f"it has no collection {target.collection!r} yet (the worker fills it at its "
            "next build or update: run `articlebot index build`)",
        )
    client.load_collection(target.collection)
    return client
